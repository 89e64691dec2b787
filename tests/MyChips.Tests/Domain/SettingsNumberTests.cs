using System.Globalization;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;

namespace MyChips.Tests.Domain;

/// <summary>
/// Settings fractions (<c>ref.reward</c>, <c>ref.clutch</c>) are read three ways: as a JS double for the signature (S),
/// as jsonb numeric then a Python float for the digest (D), as numeric for the tally's column. Only numbers that mean
/// the same value in all three are accepted (docs/numbers.md); every other number is refused with invalid_field.
/// </summary>
public sealed class SettingsNumberTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("-0.0", "0")]
    [InlineData("0.5", "0.5")]
    [InlineData("-0.25", "-0.25")]
    [InlineData("5e-3", "0.005")]
    [InlineData("0.05E1", "0.5")]
    [InlineData("1", "1")]
    [InlineData("1.0", "1")]
    [InlineData("-1", "-1")]
    [InlineData("0.123456789012345", "0.123456789012345")]
    [InlineData("-0.999999999999999", "-0.999999999999999")]
    [InlineData("1e-15", "0.000000000000001")]
    [InlineData("1e-7", "0.0000001")]
    public void An_accepted_settings_number_has_one_value_in_the_signed_digested_and_stored_forms(string literal, string expected)
    {
        foreach (var key in new[] { "reward", "clutch" })
        {
            var settings = (JsonObject)JsonNode.Parse($"{{\"{key}\":{literal}}}")!;
            ChitSettings.Validate(settings);
            var stored = ChitSettings.Fraction(key, settings[key]);
            Assert.Equal(decimal.Parse(expected, CultureInfo.InvariantCulture), stored);

            // The number's text in S and in D (as the digest is computed at receipt and after a re-read from jsonb)
            // denotes exactly the stored value.
            Assert.Equal(stored, NumberIn(SigningJson.Serialize(settings), key));
            Assert.Equal(stored, NumberIn(DigestJson.Serialize(settings, DigestNumberMode.PostgresJsonb), key));
            Assert.Equal(stored, NumberIn(DigestJson.Serialize(settings, DigestNumberMode.PythonLiteral), key));
        }
    }

    [Theory]
    [InlineData("1e-400")] // a double reads 0, numeric keeps 400 decimals
    [InlineData("1.0000000000000000000000000001")] // a double reads 1, numeric breaks the [-1, 1] check (was a 500)
    [InlineData("-1.0000000000000000000000000001")]
    [InlineData("0.1234567890123456")] // 16 decimals: no longer exact as a double
    [InlineData("1e-16")]
    [InlineData("0.50000000000000000000")] // more decimals written than allowed, even if zeros
    [InlineData("1e400")] // a double reads Infinity
    [InlineData("-1e400")]
    [InlineData("0e-20000")] // beyond numeric's scale: jsonb refuses it (was a 500)
    [InlineData("0e99999")]
    [InlineData("0.000000000000000001e16")] // an exponent beyond ±15
    public void Other_settings_numbers_are_refused_with_invalid_field(string literal)
    {
        foreach (var key in new[] { "reward", "clutch" })
        {
            var settings = (JsonObject)JsonNode.Parse($"{{\"{key}\":{literal}}}")!;
            var e = Assert.Throws<DomainException>(() => ChitSettings.Validate(settings));
            Assert.Equal("invalid_field", e.Code);
            Assert.Contains($"ref.{key}", e.Message, StringComparison.Ordinal);
        }
    }

    private static decimal NumberIn(string json, string key)
    {
        var prefix = $"{{\"{key}\":";
        Assert.StartsWith(prefix, json, StringComparison.Ordinal);
        return decimal.Parse(json[prefix.Length..^1], NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
