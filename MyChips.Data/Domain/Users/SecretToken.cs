using System.Security.Cryptography;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// Tickets, invitations, challenges and sessions: 256 random bits from the CSPRNG, shown once as <c>b64v</c>;
/// only their SHA-256 is stored (PROTOCOL W3). Lookup is by hash, so the stored secret is never compared
/// character by character against the presented one.
/// </summary>
public static class SecretToken
{
    public static string Create() => Base64Url.Encode(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));
}
