using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class UserKeyTests
{
    // Made with Node 'crypto.subtle' (WebCrypto, as the reference's apps use): generateKey ECDSA, exportKey jwk,
    // sign {name:"ECDSA", hash:"SHA-384"|"SHA-256"} over the UTF-8 of Data.
    private const string Data = "{\"by\":\"foil\",\"memo\":\"Lunch €\",\"units\":1500}";

    private const string WebCryptoP521Public = "{\"key_ops\":[\"verify\"],\"ext\":true,\"kty\":\"EC\",\"x\":\"AQpMJXZjlFGF6FlK-4s-yND-jkJ8ChIVsXTMHy3UYiTWvVbDctUXuq7eSWZmZiFTOKJsF_MuiWRT8yBLObcmjfND\",\"y\":\"ASKdX5VEOiwH0x108H_3KLDMzdBduAgEX55gARgpCOkjx-VC4Kc3KE5TWZAUVZTY-tWvlxCKZeGOvvtGP6-Q3xv8\",\"crv\":\"P-521\"}";
    private const string WebCryptoP521Private = "{\"key_ops\":[\"sign\"],\"ext\":true,\"kty\":\"EC\",\"x\":\"AQpMJXZjlFGF6FlK-4s-yND-jkJ8ChIVsXTMHy3UYiTWvVbDctUXuq7eSWZmZiFTOKJsF_MuiWRT8yBLObcmjfND\",\"y\":\"ASKdX5VEOiwH0x108H_3KLDMzdBduAgEX55gARgpCOkjx-VC4Kc3KE5TWZAUVZTY-tWvlxCKZeGOvvtGP6-Q3xv8\",\"crv\":\"P-521\",\"d\":\"ASwWz_TE0WHmyK2fnEPTVYS458RlZdWd_MDEld4KNU0TIl5u_hIuEjGn7Vi7okJk-d1gAwgtDhl-0lj_sRT_22Fl\"}";
    private const string WebCryptoP521Signature = "AKowuJFl51S0ZSzVEU_GsilvGJ0JFer1a68MPNEcO8qjr3D6MfBAHtJMZnOmAKASe-LId2qnFaB05qO77taAuYDRAZvPNp4L3pMkNfuq0XQlD1ikj81G5piGrwf7DKNAEplWIKmLkbl-_i43kpseBWQIMRvLx5_V5uH4WpkpLr2rALNz";
    private const string WebCryptoP256Public = "{\"key_ops\":[\"verify\"],\"ext\":true,\"kty\":\"EC\",\"x\":\"lJDP04P7JFWjTyP1v7O08mKHVwh3dsty3Q-YiZrwOOY\",\"y\":\"l2VXQA1w58gBK-sbfKb0iW_siBxIogEYuQHaAMbjl_Y\",\"crv\":\"P-256\"}";
    private const string WebCryptoP256Signature = "J6hrG_5inHqr5DXpjbh-_-FNsjlrtOyHm7EK588yXYMcLPtE73v4QYH3Bg6rw4rTUK-Ll6VcCejJGCyxAB18OQ";

    private static readonly byte[] DataBytes = Encoding.UTF8.GetBytes(Data);

    [Theory]
    [InlineData(WebCryptoP521Public, WebCryptoP521Signature, UserKeyCurve.P521, 132)]
    [InlineData(WebCryptoP256Public, WebCryptoP256Signature, UserKeyCurve.P256, 64)]
    public void VerifiesWebCryptoSignatures(string jwk, string signature, UserKeyCurve curve, int size)
    {
        using var key = UserPublicKey.FromJwk(JsonNode.Parse(jwk)!);
        byte[] sig = Base64Url.Decode(signature);
        Assert.Equal(curve, key.Curve);
        Assert.Equal(size, key.SignatureSize);
        Assert.Equal(size, sig.Length);
        Assert.True(key.Verify(DataBytes, sig));

        sig[^1] ^= 1;
        Assert.False(key.Verify(DataBytes, sig));
        sig[^1] ^= 1;
        Assert.False(key.Verify(Encoding.UTF8.GetBytes(Data + " "), sig));
    }

    [Fact]
    public void KeepsTheJwkAsGiven()
    {
        using var key = UserPublicKey.FromJwk(JsonNode.Parse(WebCryptoP521Public)!);
        Assert.Equal(WebCryptoP521Public, key.Jwk.ToJsonString());
        key.Jwk["x"] = "changed"; // a copy
        Assert.Equal(WebCryptoP521Public, key.Jwk.ToJsonString());
    }

    [Fact]
    public void ImportsWebCryptoPrivateKey()
    {
        using var key = UserSigningKey.FromJwk(JsonNode.Parse(WebCryptoP521Private)!);
        using var webPublic = UserPublicKey.FromJwk(JsonNode.Parse(WebCryptoP521Public)!);
        byte[] sig = key.Sign(DataBytes);
        Assert.Equal(132, sig.Length);
        Assert.True(webPublic.Verify(DataBytes, sig));
        Assert.Equal(JsonNode.Parse(WebCryptoP521Private)!["d"]!.GetValue<string>(), key.ExportPrivateJwk()["d"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(UserKeyCurve.P521, 132)]
    [InlineData(UserKeyCurve.P256, 64)]
    public void GeneratedKeysSignAndRoundTripThroughJwk(UserKeyCurve curve, int size)
    {
        using var key = UserSigningKey.Generate(curve);
        byte[] sig = key.Sign(DataBytes);
        Assert.Equal(size, sig.Length);
        Assert.True(key.PublicKey.Verify(DataBytes, sig));

        var publicJwk = key.ExportPublicJwk();
        Assert.Equal("EC", publicJwk["kty"]!.GetValue<string>());
        Assert.Null(publicJwk["d"]);
        using var imported = UserPublicKey.FromJwk(publicJwk);
        Assert.True(imported.Verify(DataBytes, sig));

        using var reimported = UserSigningKey.FromJwk(key.ExportPrivateJwk());
        Assert.True(imported.Verify(DataBytes, reimported.Sign(DataBytes)));
    }

    [Fact]
    public void MalformedSignaturesAreFalseNotExceptions()
    {
        using var key = UserSigningKey.Generate();
        byte[] sig = key.Sign(DataBytes);
        Assert.False(key.PublicKey.Verify(DataBytes, []));
        Assert.False(key.PublicKey.Verify(DataBytes, sig.AsSpan(0, 131)));
        Assert.False(key.PublicKey.Verify(DataBytes, [.. sig, 0]));
        Assert.False(key.PublicKey.Verify(DataBytes, new byte[132]));
        Assert.False(key.PublicKey.Verify(DataBytes, Enumerable.Repeat((byte)0xff, 132).ToArray()));
        byte[] der = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP521)
            .SignData(DataBytes, System.Security.Cryptography.HashAlgorithmName.SHA384,
                System.Security.Cryptography.DSASignatureFormat.Rfc3279DerSequence);
        Assert.False(key.PublicKey.Verify(DataBytes, der));
    }

    [Fact]
    public void SignaturesDoNotVerifyUnderTheOtherHash()
    {
        // Guards the P-521/SHA-384 pairing: a P-521 signature over SHA-512 must not pass.
        using var key = UserSigningKey.FromJwk(JsonNode.Parse(WebCryptoP521Private)!);
        var ecdsa = System.Security.Cryptography.ECDsa.Create();
        ecdsa.ImportParameters(new System.Security.Cryptography.ECParameters
        {
            Curve = System.Security.Cryptography.ECCurve.NamedCurves.nistP521,
            D = Base64Url.Decode(JsonNode.Parse(WebCryptoP521Private)!["d"]!.GetValue<string>()),
            Q = new System.Security.Cryptography.ECPoint
            {
                X = Base64Url.Decode(JsonNode.Parse(WebCryptoP521Private)!["x"]!.GetValue<string>()),
                Y = Base64Url.Decode(JsonNode.Parse(WebCryptoP521Private)!["y"]!.GetValue<string>()),
            },
        });
        byte[] sha512Sig = ecdsa.SignData(DataBytes, System.Security.Cryptography.HashAlgorithmName.SHA512,
            System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.False(key.PublicKey.Verify(DataBytes, sha512Sig));
    }

    [Theory]
    [InlineData("[]", InvalidKeyReason.Malformed)]
    [InlineData("{\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}", InvalidKeyReason.Malformed)]
    [InlineData("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", InvalidKeyReason.UnsupportedKeyType)]
    [InlineData("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}", InvalidKeyReason.UnsupportedKeyType)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}", InvalidKeyReason.UnsupportedCurve)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}", InvalidKeyReason.UnsupportedCurve)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lJDP04P7JFWjTyP1v7O08mKHVwh3dsty3Q-YiZrwOOY\"}", InvalidKeyReason.Malformed)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lJDP04P7JFWjTyP1v7O08mKHVwh3dsty3Q-YiZrw\",\"y\":\"l2VXQA1w58gBK-sbfKb0iW_siBxIogEYuQHaAMbjl_Y\"}", InvalidKeyReason.BadEncoding)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lJDP04P7JFWjTyP1v7O08mKHVwh3dsty3Q-YiZrwOOY\",\"y\":\"l2VXQA1w58gBK-sbfKb0iW_siBxIogEYuQHaAMbjl_!\"}", InvalidKeyReason.BadEncoding)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"lJDP04P7JFWjTyP1v7O08mKHVwh3dsty3Q-YiZrwOOY\",\"y\":\"l2VXQA1w58gBK-sbfKb0iW_siBxIogEYuQHaAMbjl_c\"}", InvalidKeyReason.InvalidKeyMaterial)]
    public void RejectsUnusablePublicJwks(string jwk, InvalidKeyReason reason)
    {
        var e = Assert.Throws<InvalidKeyException>(() => UserPublicKey.FromJwk(JsonNode.Parse(jwk)!));
        Assert.Equal(reason, e.Reason);
    }

    [Fact]
    public void SigningKeyNeedsMatchingD()
    {
        var noD = Assert.Throws<InvalidKeyException>(() => UserSigningKey.FromJwk(JsonNode.Parse(WebCryptoP521Public)!));
        Assert.Equal(InvalidKeyReason.Malformed, noD.Reason);

        using var other = UserSigningKey.Generate();
        var mixed = JsonNode.Parse(WebCryptoP521Public)!.AsObject();
        mixed["d"] = other.ExportPrivateJwk()["d"]!.GetValue<string>();
        var mismatch = Assert.Throws<InvalidKeyException>(() => UserSigningKey.FromJwk(mixed));
        Assert.Equal(InvalidKeyReason.InvalidKeyMaterial, mismatch.Reason);
    }
}
