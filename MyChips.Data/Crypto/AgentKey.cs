using System.Text.Json;
using System.Text.Json.Nodes;
using NSec.Cryptography;

namespace MyChips.Data.Crypto;

/// <summary>
/// The site agent's Ed25519 key (PROTOCOL §2.1–2.2). Its raw public key, as <c>b64v</c>, is the agent ID; its seed
/// (JWK <c>d</c>) also yields the Noise X25519 static key (<see cref="Curve25519Conversion"/>).
/// </summary>
public sealed class AgentKey : IDisposable
{
    public const int SeedSize = 32;
    public const int SignatureSize = 64;

    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    private readonly Key _key;
    private readonly byte[] _publicKey;

    private AgentKey(Key key)
    {
        _key = key;
        _publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        Id = Base64Url.Encode(_publicKey);
    }

    /// <summary><c>b64v</c> of the raw 32-byte public key: 43 characters.</summary>
    public string Id { get; }

    /// <summary>A copy of the raw 32-byte public key.</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    public static AgentKey Generate() => new(Key.Create(Algorithm, Exportable()));

    public static AgentKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
            throw new InvalidKeyException(InvalidKeyReason.BadEncoding, "An Ed25519 seed is 32 bytes.");
        return new AgentKey(Key.Import(Algorithm, seed, KeyBlobFormat.RawPrivateKey, Exportable()));
    }

    /// <summary>Imports <c>{kty:"OKP", crv:"Ed25519", x, d}</c>; <c>x</c>, when present, must match <c>d</c>.</summary>
    /// <exception cref="InvalidKeyException">Not a usable Ed25519 private JWK.</exception>
    public static AgentKey FromJwk(JsonNode jwk)
    {
        if (jwk is not JsonObject obj)
            throw new InvalidKeyException(InvalidKeyReason.Malformed, "A JWK must be a JSON object.");
        string kty = RequiredString(obj, "kty");
        if (kty != "OKP")
            throw new InvalidKeyException(InvalidKeyReason.UnsupportedKeyType, $"JWK kty '{kty}' is not OKP.");
        string crv = RequiredString(obj, "crv");
        if (crv != "Ed25519")
            throw new InvalidKeyException(InvalidKeyReason.UnsupportedCurve, $"JWK curve '{crv}' is not Ed25519.");

        Span<byte> seed = stackalloc byte[SeedSize];
        if (!Base64Url.TryDecode(RequiredString(obj, "d"), seed))
            throw new InvalidKeyException(InvalidKeyReason.BadEncoding, "JWK member 'd' is not 32 bytes of base64url.");
        var key = FromSeed(seed);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);

        if (obj.ContainsKey("x"))
        {
            Span<byte> x = stackalloc byte[32];
            if (!Base64Url.TryDecode(RequiredString(obj, "x"), x) || !x.SequenceEqual(key._publicKey))
            {
                key.Dispose();
                throw new InvalidKeyException(InvalidKeyReason.InvalidKeyMaterial, "JWK member 'x' does not match 'd'.");
            }
        }
        return key;
    }

    /// <summary>The 32-byte seed (JWK <c>d</c>). Secret.</summary>
    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary><c>{kty:"OKP", crv:"Ed25519", x, d}</c>. Contains the secret seed.</summary>
    public JsonObject ExportJwk() => new()
    {
        ["kty"] = "OKP",
        ["crv"] = "Ed25519",
        ["x"] = Id,
        ["d"] = Base64Url.Encode(ExportSeed()),
    };

    /// <summary>Pure Ed25519 signature (64 bytes).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => Algorithm.Sign(_key, data);

    /// <summary>The X25519 private key for Noise, derived from the seed as libsodium does.</summary>
    public byte[] DeriveX25519PrivateKey()
    {
        byte[] seed = ExportSeed();
        var x = new byte[Curve25519Conversion.KeySize];
        Curve25519Conversion.ConvertSeed(seed, x);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);
        return x;
    }

    /// <summary>Verifies a pure Ed25519 signature by an agent's raw public key; false for any malformed input.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize
            || !NSec.Cryptography.PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key)
            || key is null)
            return false;
        return Algorithm.Verify(key, data, signature);
    }

    /// <summary>As <see cref="Verify(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> with the key given as an agent ID.</summary>
    public static bool Verify(string agentId, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        Span<byte> publicKey = stackalloc byte[32];
        return Base64Url.TryDecode(agentId, publicKey) && Verify(publicKey, data, signature);
    }

    public void Dispose() => _key.Dispose();

    private static KeyCreationParameters Exportable() =>
        new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    internal static string RequiredString(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? JsonLeaf.String(v)
            : throw new InvalidKeyException(InvalidKeyReason.Malformed, $"Member '{name}' is missing or not a string.");
}
