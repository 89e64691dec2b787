using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// Verifies user signatures (ECDSA r‖s, PROTOCOL 3.1). Imported keys are pooled by their JWK text: importing a key
/// costs more than verifying with it, and a key is immutable, so reuse is safe; an instance is used by one thread at a time.
/// </summary>
public sealed class SignatureVerifier
{
    private const int MaxKeys = 10_000;
    private readonly ConcurrentDictionary<string, ConcurrentBag<UserPublicKey>> _keys = new();

    /// <summary>False for a missing or malformed key or signature, and for a signature that does not verify.</summary>
    public bool Verify(JsonNode? jwk, ReadOnlySpan<byte> data, string? signature)
    {
        if (jwk is not JsonObject || signature is null || signature.Length > 400 || !Base64Url.TryDecode(signature, out var sig))
            return false;
        var text = jwk.ToJsonString();
        var pool = _keys.GetOrAdd(text, static _ => []);
        if (!pool.TryTake(out var key))
        {
            try
            {
                key = UserPublicKey.FromJwk(jwk);
            }
            catch (InvalidKeyException)
            {
                return false;
            }
        }

        try
        {
            return key.Verify(data, sig);
        }
        finally
        {
            if (_keys.Count > MaxKeys)
                _keys.Clear();
            pool.Add(key);
        }
    }
}
