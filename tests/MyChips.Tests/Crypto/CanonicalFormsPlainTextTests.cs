using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

/// <summary>
/// The canonical forms keep their own escaping when the transport and API write plain JSON text: a cert.date's
/// <c>+</c> is literal in S and in D alike, D still escapes non-ASCII as lowercase <c>\uXXXX</c>, S writes it literally.
/// </summary>
public sealed class CanonicalFormsPlainTextTests
{
    [Fact]
    public void A_cert_date_keeps_its_plus_in_S_and_D_and_only_D_escapes_non_ascii()
    {
        var cert = new JsonObject { ["date"] = "2025-03-01T09:15:02.41+00:00", ["name"] = "Zoë <&>" };
        Assert.Equal("{\"date\":\"2025-03-01T09:15:02.41+00:00\",\"name\":\"Zoë <&>\"}", SigningJson.Serialize(cert));
        Assert.Equal("{\"date\":\"2025-03-01T09:15:02.41+00:00\",\"name\":\"Zo\\u00eb <&>\"}", DigestJson.Serialize(cert));
    }
}
