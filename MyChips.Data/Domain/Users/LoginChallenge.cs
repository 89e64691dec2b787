using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// A server-issued one-time nonce for a signed login (fixes PROTOCOL W4). The client signs
/// <c>S({"action":"login","nonce":nonce,"user":cuid})</c> with its registered key.
/// </summary>
public sealed record LoginChallenge(string User, string Nonce, DateTimeOffset Expires)
{
    public static byte[] SignedBytes(string user, string nonce) =>
        SigningJson.SerializeToUtf8Bytes(new JsonObject { ["action"] = "login", ["nonce"] = nonce, ["user"] = user });
}
