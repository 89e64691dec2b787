using System.Security.Cryptography;
using MyChips.Peer.Noise;

namespace MyChips.Tests.Noise;

/// <summary>
/// The reference's Noise library swaps the transport keys after IK and KK (PROTOCOL 4.3, ref bug T11): the side that
/// wrote the last handshake message (the responder) sends with c1. Checked against the public cacophony vector
/// <c>Noise_KK_25519_ChaChaPoly_BLAKE2b</c>: its transport messages are the specification's, so with the keys swapped
/// each one is exactly what the *other* side of a reference pair sends with the same key and nonce.
/// </summary>
public sealed class ReferenceSplitVectorTests
{
    // Source: cacophony test vectors (github.com/haskell-cryptography/cacophony, vectors/cacophony.txt),
    // vector "Noise_KK_25519_ChaChaPoly_BLAKE2b", copied verbatim (hex).
    private const string Prologue = "4a6f686e2047616c74";
    private const string InitStatic = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
    private const string InitEphemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
    private const string InitRemoteStatic = "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62";
    private const string RespStatic = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
    private const string RespEphemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
    private const string RespRemoteStatic = "6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a";
    private const string HandshakeHash = "76dbc866183c8ee7363dbf0ebab8d6355010245f9817aa78359818a03a052586d7e8b4bb2ae5622a1a61212df90af04bb2b2cc189ce0e819ba0c4970c9f71805";

    private static readonly (string Payload, string Ciphertext)[] Messages =
    [
        ("4c756477696720766f6e204d69736573", "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944f79a1d4b21fc3ea4a0c87213b8b4f0599d758682c26a3ae5e09195a3e742bc74"),
        ("4d757272617920526f746862617264", "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843e20b1bf85731f75d7e21b5d54baaa66341de4292c3d42571c1bd7e7f1abe38"),
        ("462e20412e20486179656b", "25bfaa58833b07cdd6af7c07f2c51daac681a8ac0a02dd373259bd"),
        ("4361726c204d656e676572", "ef586cff556dec8ef0053871ff0d4bf3f2c72e842487ec6d1da69f"),
        ("4a65616e2d426170746973746520536179", "3265d50513550a354425d0218ba1e5f25d4994ce8990e6964398dba5982dbcbd85"),
        ("457567656e2042f6686d20766f6e2042617765726b", "f11c02d5c3223d7b9281b52e1b134962b91bc3bfbd1646354dab9fc19b66bf6c1e0a6f431e"),
    ];

    [Fact]
    public void ReferenceSplit_ProducesAndReadsTheVectorsTransportMessages_WithTheKeysSwapped()
    {
        var (initiator, responder) = Handshake(reference: true);
        using (initiator)
        using (responder)
        {
            var buffer = new byte[1024];
            var plain = new byte[1024];
            for (int m = 2; m < Messages.Length; m++)
            {
                var payload = Convert.FromHexString(Messages[m].Payload);
                var ciphertext = Convert.FromHexString(Messages[m].Ciphertext);

                // In the vector, even messages go initiator→responder under c1 and odd ones back under c2. With the
                // reference's split c1 is the responder's sending key, so the same bytes travel the other way.
                var (sender, receiver) = m % 2 == 0 ? (responder, initiator) : (initiator, responder);
                int written = sender.Encrypt(payload, buffer);
                Assert.Equal(Messages[m].Ciphertext, Convert.ToHexString(buffer, 0, written).ToLowerInvariant());
                int read = receiver.Decrypt(ciphertext, plain);
                Assert.Equal(payload, plain[..read]);
            }
        }
    }

    [Fact]
    public void DefaultSplit_StillMatchesTheSpecificationVector_AndTheReferenceSplitCannotReadIt()
    {
        var (initiator, responder) = Handshake(reference: false);
        var (refInitiator, refResponder) = Handshake(reference: true);
        using (initiator)
        using (responder)
        using (refInitiator)
        using (refResponder)
        {
            var buffer = new byte[1024];
            var plain = new byte[1024];
            for (int m = 2; m < Messages.Length; m++)
            {
                var payload = Convert.FromHexString(Messages[m].Payload);
                var ciphertext = Convert.FromHexString(Messages[m].Ciphertext);
                var (sender, receiver) = m % 2 == 0 ? (initiator, responder) : (responder, initiator);
                int written = sender.Encrypt(payload, buffer);
                Assert.Equal(Messages[m].Ciphertext, Convert.ToHexString(buffer, 0, written).ToLowerInvariant());
                int read = receiver.Decrypt(ciphertext, plain);
                Assert.Equal(payload, plain[..read]);
            }

            // A reference receiver in the specification's direction holds the wrong key: T11's "could not verify data".
            Assert.ThrowsAny<CryptographicException>(() => refResponder.Decrypt(Convert.FromHexString(Messages[2].Ciphertext), plain));
            Assert.ThrowsAny<CryptographicException>(() => refInitiator.Decrypt(Convert.FromHexString(Messages[3].Ciphertext), plain));
        }
    }

    /// <summary>Runs the vector's two handshake messages (checking them byte for byte) and splits both sides.</summary>
    private static (NoiseTransport Initiator, NoiseTransport Responder) Handshake(bool reference)
    {
        var protocol = NoiseProtocol.Parse("Noise_KK_25519_ChaChaPoly_BLAKE2b");
        var prologue = Convert.FromHexString(Prologue);
        using var initStatic = X25519KeyPair.FromPrivateKey(Convert.FromHexString(InitStatic));
        using var initEphemeral = X25519KeyPair.FromPrivateKey(Convert.FromHexString(InitEphemeral));
        using var respStatic = X25519KeyPair.FromPrivateKey(Convert.FromHexString(RespStatic));
        using var respEphemeral = X25519KeyPair.FromPrivateKey(Convert.FromHexString(RespEphemeral));
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, prologue, initStatic, Convert.FromHexString(InitRemoteStatic), localEphemeral: initEphemeral);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, prologue, respStatic, Convert.FromHexString(RespRemoteStatic), localEphemeral: respEphemeral);

        var buffer = new byte[1024];
        var plain = new byte[1024];
        for (int m = 0; m < 2; m++)
        {
            var (writer, reader) = m == 0 ? (initiator, responder) : (responder, initiator);
            int written = writer.WriteMessage(Convert.FromHexString(Messages[m].Payload), buffer);
            Assert.Equal(Messages[m].Ciphertext, Convert.ToHexString(buffer, 0, written).ToLowerInvariant());
            int read = reader.ReadMessage(buffer.AsSpan(0, written), plain);
            Assert.Equal(Messages[m].Payload, Convert.ToHexString(plain, 0, read).ToLowerInvariant());
        }

        Assert.Equal(HandshakeHash, Convert.ToHexString(initiator.HandshakeHash).ToLowerInvariant());
        return reference
            ? (initiator.SplitLikeReference(), responder.SplitLikeReference())
            : (initiator.Split(), responder.Split());
    }
}
