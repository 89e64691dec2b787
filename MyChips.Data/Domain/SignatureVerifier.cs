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

    /// <summary>
    /// As <see cref="Verify(JsonNode?, ReadOnlySpan{byte}, string?)"/>, remembering a success in the transaction: the
    /// receive half of a local message checks the same signature over the same bytes with the same key, and is
    /// answered from that record instead of a second ECDSA verification.
    /// </summary>
    public bool Verify(DomainTransaction tx, JsonNode? jwk, ReadOnlySpan<byte> data, string? signature)
    {
        if (jwk is not JsonObject || signature is null)
            return false;
        var proof = (jwk.ToJsonString(), signature, Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(data)));
        if (tx.Verified.Contains(proof))
            return true;
        if (!Verify(jwk, data, signature))
            return false;
        tx.Verified.Add(proof);
        return true;
    }

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
