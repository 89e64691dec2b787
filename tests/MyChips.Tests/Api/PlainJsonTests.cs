using Dapper;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>API responses are plain JSON text as the reference writes it: a cert.date keeps its literal <c>+</c>.</summary>
[Collection(UserApiCollection.Name)]
public sealed class PlainJsonTests(PostgresServer server)
{
    private const string CertDate = "2025-03-01T09:15:02.41+00:00";

    [Fact]
    public async Task A_cert_date_with_a_plus_is_answered_with_a_literal_plus()
    {
        await using var site = await ApiSite.StartAsync(server, "plain");
        using var adam = await site.AddUserAsync("adam");
        await using (var connection = await site.OpenAsync())
        {
            Assert.Equal(1, await connection.ExecuteAsync(
                "UPDATE mychips.users SET cert = cert || jsonb_build_object('date', @date::text, 'name', 'Zoë <Ø&Co>') WHERE cuid = 'adam'", new { date = CertDate }));
        }

        using var response = await adam.Http.GetAsync("/api/me");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        Assert.Contains($"\"date\":\"{CertDate}\"", text, StringComparison.Ordinal);
        Assert.Contains("Zoë <Ø&Co>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);
    }
}
