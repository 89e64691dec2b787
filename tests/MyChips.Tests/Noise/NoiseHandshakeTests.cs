using MyChips.Peer.Noise;

namespace MyChips.Tests.Noise;

public sealed class NoiseHandshakeTests
{
    private static readonly byte[] Prologue = [];

    [Fact]
    public void XX_handshake_completes_and_both_sides_learn_each_others_static_key()
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        var protocol = NoiseProtocol.ChipsSuite("XX");
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, initStatic);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, Prologue, respStatic);

        using var pair = Run(initiator, responder);

        Assert.Equal(respStatic.PublicKey.ToArray(), initiator.RemoteStatic.ToArray());
        Assert.Equal(initStatic.PublicKey.ToArray(), responder.RemoteStatic.ToArray());
        Assert.Equal(pair.Initiator.HandshakeHash.ToArray(), pair.Responder.HandshakeHash.ToArray());
        Assert.Equal("ping", RoundTrip(pair.Initiator, pair.Responder, "ping"));
        Assert.Equal("pong", RoundTrip(pair.Responder, pair.Initiator, "pong"));
    }

    [Fact]
    public void Site_flow_N_then_KK_has_the_wire_sizes_of_PROTOCOL_4_2()
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        var buffer = new byte[256];
        var payload = new byte[256];
        byte[] agentId = "\"tWcqwf0Jp0k4BXOEOhcsqX3RYNXa1H4yBJt5C7kOjYI\""u8.ToArray();

        // N: e(32) || enc(payload)(len+16); the responder then knows which agent is calling.
        using (var n = new HandshakeState(NoiseProtocol.ChipsSuite("N"), NoiseRole.Initiator, Prologue, remoteStatic: respStatic.PublicKey))
        using (var nr = new HandshakeState(NoiseProtocol.ChipsSuite("N"), NoiseRole.Responder, Prologue, respStatic))
        {
            int nLength = n.WriteMessage(agentId, buffer);
            Assert.Equal(32 + agentId.Length + 16, nLength);
            Assert.Equal(agentId, payload.AsSpan(0, nr.ReadMessage(buffer.AsSpan(0, nLength), payload)).ToArray());
            Assert.True(nr.IsCompleted);
        }

        // KK: message 1 e(32) || enc(payload); message 2 ('A') e(32) || tag(16) = 48 bytes.
        var kk = NoiseProtocol.ChipsSuite("KK");
        using var initiator = new HandshakeState(kk, NoiseRole.Initiator, Prologue, initStatic, respStatic.PublicKey);
        using var responder = new HandshakeState(kk, NoiseRole.Responder, Prologue, respStatic, initStatic.PublicKey);
        byte[] first = "{\"target\":\"tally\"}"u8.ToArray();
        int k = initiator.WriteMessage(first, buffer);
        Assert.Equal(32 + first.Length + 16, k);
        Assert.Equal(first.Length, responder.ReadMessage(buffer.AsSpan(0, k), payload));
        int a = responder.WriteMessage([], buffer);
        Assert.Equal(48, a);
        Assert.Equal(0, initiator.ReadMessage(buffer.AsSpan(0, a), payload));
        Assert.True(initiator.IsCompleted && responder.IsCompleted);
    }

    [Fact]
    public void IK_with_the_wrong_remote_static_fails_at_the_responder()
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        using var someoneElse = X25519KeyPair.Generate();
        var protocol = NoiseProtocol.ChipsSuite("IK");
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, initStatic, someoneElse.PublicKey);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, Prologue, respStatic);
        var buffer = new byte[256];
        var payload = new byte[256];

        int length = initiator.WriteMessage("ticket"u8, buffer);

        Assert.Throws<NoiseException>(() => responder.ReadMessage(buffer.AsSpan(0, length), payload));
        Assert.Throws<InvalidOperationException>(() => responder.WriteMessage([], buffer));
    }

    [Fact]
    public void KK_with_the_wrong_remote_static_fails_at_the_responder()
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        using var impostor = X25519KeyPair.Generate();
        var protocol = NoiseProtocol.ChipsSuite("KK");
        // The responder expects initStatic, but the caller holds the impostor's key.
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, impostor, respStatic.PublicKey);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, Prologue, respStatic, initStatic.PublicKey);
        var buffer = new byte[256];
        var payload = new byte[256];

        int length = initiator.WriteMessage("hello"u8, buffer);

        Assert.Throws<NoiseException>(() => responder.ReadMessage(buffer.AsSpan(0, length), payload));
    }

    [Fact]
    public void Tampered_handshake_message_is_rejected()
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        var protocol = NoiseProtocol.ChipsSuite("XX");
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, initStatic);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, Prologue, respStatic);
        var buffer = new byte[256];
        var payload = new byte[256];
        int length = initiator.WriteMessage([], buffer);
        responder.ReadMessage(buffer.AsSpan(0, length), payload);
        length = responder.WriteMessage("payload"u8, buffer);

        buffer[40] ^= 0x01; // inside the encrypted static key

        Assert.Throws<NoiseException>(() => initiator.ReadMessage(buffer.AsSpan(0, length), payload));
    }

    [Fact]
    public void Tampered_transport_ciphertext_is_rejected_and_the_nonce_does_not_advance()
    {
        using var pair = NewXXPair();
        var plaintext = "message"u8.ToArray();
        var first = new byte[plaintext.Length + CipherState.TagLength];
        var second = new byte[plaintext.Length + CipherState.TagLength];
        pair.Initiator.Encrypt(plaintext, first);
        pair.Initiator.Encrypt(plaintext, second);
        var output = new byte[plaintext.Length];

        var tampered = (byte[])first.Clone();
        tampered[0] ^= 0x80;
        Assert.Throws<NoiseException>(() => pair.Responder.Decrypt(tampered, output));
        Assert.Equal(0UL, pair.Responder.Receiver!.Nonce);

        Assert.Equal(plaintext.Length, pair.Responder.Decrypt(first, output));
        Assert.Equal(plaintext, output);
        Assert.Equal(plaintext.Length, pair.Responder.Decrypt(second, output));
        Assert.Equal(2UL, pair.Responder.Receiver.Nonce);
    }

    [Theory]
    [InlineData("Noise_NN_25519_ChaChaPoly_BLAKE2b")]
    [InlineData("Noise_NN_25519_AESGCM_SHA256")]
    public void Transport_encrypts_and_decrypts_in_place(string name)
    {
        var protocol = NoiseProtocol.Parse(name);
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder);
        using var pair = Run(initiator, responder);
        var buffer = new byte[5 + CipherState.TagLength];
        "hello"u8.CopyTo(buffer);

        int length = pair.Initiator.Encrypt(buffer.AsSpan(0, 5), buffer);
        Assert.NotEqual("hello"u8.ToArray(), buffer.AsSpan(0, 5).ToArray());
        int plain = pair.Responder.Decrypt(buffer.AsSpan(0, length), buffer);

        Assert.Equal("hello"u8.ToArray(), buffer.AsSpan(0, plain).ToArray());
    }

    [Fact]
    public void Replayed_transport_message_is_rejected()
    {
        using var pair = NewXXPair();
        var ciphertext = new byte[4 + CipherState.TagLength];
        pair.Initiator.Encrypt("once"u8, ciphertext);
        var output = new byte[4];
        pair.Responder.Decrypt(ciphertext, output);

        Assert.Throws<NoiseException>(() => pair.Responder.Decrypt(ciphertext, output));
    }

    [Theory]
    [InlineData(NoiseCipherFunction.ChaChaPoly)]
    [InlineData(NoiseCipherFunction.AesGcm)]
    public void Nonce_2_pow_64_minus_1_is_never_used_for_a_message(NoiseCipherFunction function)
    {
        using var cipher = new CipherState(function);
        cipher.InitializeKey(new byte[32]);
        cipher.SetNonce(ulong.MaxValue - 1);
        var buffer = new byte[CipherState.TagLength + 1];

        Assert.Equal(17, cipher.EncryptWithAd([], [0x42], buffer));
        Assert.Equal(ulong.MaxValue, cipher.Nonce);
        Assert.Throws<NoiseException>(() => cipher.EncryptWithAd([], [0x42], buffer));
        Assert.Throws<NoiseException>(() => cipher.DecryptWithAd([], buffer, new byte[1]));
    }

    [Fact]
    public void Rekey_on_both_sides_keeps_the_channel_working_and_on_one_side_breaks_it()
    {
        using var pair = NewXXPair();
        var ciphertext = new byte[5 + CipherState.TagLength];
        var output = new byte[5];

        pair.Initiator.Sender!.Rekey();
        pair.Responder.Receiver!.Rekey();
        pair.Initiator.Encrypt("after"u8, ciphertext);
        Assert.Equal(5, pair.Responder.Decrypt(ciphertext, output));
        Assert.Equal("after"u8.ToArray(), output);

        pair.Initiator.Sender.Rekey();
        pair.Initiator.Encrypt("again"u8, ciphertext);
        Assert.Throws<NoiseException>(() => pair.Responder.Decrypt(ciphertext, output));
    }

    [Fact]
    public void Rekey_follows_the_spec_definition()
    {
        // REKEY(k) = ENCRYPT(k, 2^64-1, empty, 32 zero bytes)[0..32].
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        using var reference = new CipherState(NoiseCipherFunction.ChaChaPoly);
        reference.InitializeKey(key);
        reference.SetNonce(ulong.MaxValue - 1);
        // EncryptWithAd refuses 2^64-1, so compute the spec's value through the BCL directly.
        var nonce = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), ulong.MaxValue);
        var expectedKey = new byte[32];
        var tag = new byte[16];
        using (var chacha = new System.Security.Cryptography.ChaCha20Poly1305(key))
        {
            chacha.Encrypt(nonce, new byte[32], expectedKey, tag);
        }

        using var rekeyed = new CipherState(NoiseCipherFunction.ChaChaPoly);
        rekeyed.InitializeKey(key);
        rekeyed.Rekey();
        using var expected = new CipherState(NoiseCipherFunction.ChaChaPoly);
        expected.InitializeKey(expectedKey);
        var a = new byte[19];
        var b = new byte[19];
        rekeyed.EncryptWithAd([], "abc"u8, a);
        expected.EncryptWithAd([], "abc"u8, b);

        Assert.Equal(b, a);
    }

    [Fact]
    public void Messages_over_65535_bytes_are_refused()
    {
        using var pair = NewXXPair();
        var big = new byte[NoiseTransport.MaxPayloadLength + 1];
        Assert.Throws<ArgumentException>(() => pair.Initiator.Encrypt(big, new byte[big.Length + 16]));
        Assert.Throws<NoiseException>(() => pair.Responder.Decrypt(new byte[65536], new byte[65536]));

        var protocol = NoiseProtocol.ChipsSuite("XX");
        using var initStatic = X25519KeyPair.Generate();
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, initStatic);
        // XX message 1 is e(32) || payload (no key yet): 65504 bytes of payload is the most that fits.
        Assert.Equal(65535, initiator.GetMessageLength(65503));
        Assert.Throws<ArgumentException>(() => initiator.WriteMessage(new byte[65504], new byte[70000]));
    }

    [Fact]
    public void One_way_pattern_lets_only_the_initiator_send()
    {
        using var respStatic = X25519KeyPair.Generate();
        var protocol = NoiseProtocol.ChipsSuite("N");
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, remoteStatic: respStatic.PublicKey);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, Prologue, respStatic);

        using var pair = Run(initiator, responder);

        Assert.Null(pair.Responder.Sender);
        Assert.Null(pair.Initiator.Receiver);
        Assert.Throws<InvalidOperationException>(() => pair.Responder.Encrypt("x"u8, new byte[17]));
        Assert.Equal("one way", RoundTrip(pair.Initiator, pair.Responder, "one way"));
    }

    [Fact]
    public void Writing_out_of_turn_is_refused()
    {
        var protocol = NoiseProtocol.ChipsSuite("NN");
        using var responder = new HandshakeState(protocol, NoiseRole.Responder);

        Assert.False(responder.IsWriteTurn);
        Assert.Throws<InvalidOperationException>(() => responder.WriteMessage([], new byte[100]));
    }

    [Fact]
    public void Missing_or_extra_keys_are_refused_up_front()
    {
        using var key = X25519KeyPair.Generate();
        Assert.Throws<ArgumentException>(() => new HandshakeState(NoiseProtocol.ChipsSuite("IK"), NoiseRole.Initiator, Prologue, key));
        Assert.Throws<ArgumentException>(() => new HandshakeState(NoiseProtocol.ChipsSuite("XX"), NoiseRole.Initiator, Prologue));
        Assert.Throws<ArgumentException>(() => new HandshakeState(NoiseProtocol.ChipsSuite("XX"), NoiseRole.Initiator, Prologue, key, key.PublicKey));
        Assert.Throws<ArgumentException>(() => new HandshakeState(NoiseProtocol.ChipsSuite("NNpsk0"), NoiseRole.Initiator, Prologue));
    }

    [Fact]
    public void Disposed_cipher_state_cannot_be_used()
    {
        var cipher = new CipherState(NoiseCipherFunction.ChaChaPoly);
        cipher.InitializeKey(new byte[32]);
        cipher.Dispose();

        Assert.False(cipher.HasKey);
        Assert.Throws<ObjectDisposedException>(() => cipher.EncryptWithAd([], [1], new byte[17]));
    }

    private static TransportPair NewXXPair()
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        var protocol = NoiseProtocol.ChipsSuite("XX");
        using var initiator = new HandshakeState(protocol, NoiseRole.Initiator, Prologue, initStatic);
        using var responder = new HandshakeState(protocol, NoiseRole.Responder, Prologue, respStatic);
        return Run(initiator, responder);
    }

    private static TransportPair Run(HandshakeState initiator, HandshakeState responder)
    {
        var buffer = new byte[1024];
        var payload = new byte[1024];
        while (!initiator.IsCompleted)
        {
            var (writer, reader) = initiator.IsWriteTurn ? (initiator, responder) : (responder, initiator);
            int length = writer.WriteMessage([], buffer);
            reader.ReadMessage(buffer.AsSpan(0, length), payload);
        }

        Assert.True(responder.IsCompleted);
        return new TransportPair(initiator.Split(), responder.Split());
    }

    private static string RoundTrip(NoiseTransport sender, NoiseTransport receiver, string text)
    {
        var plaintext = System.Text.Encoding.UTF8.GetBytes(text);
        var ciphertext = new byte[NoiseTransport.GetCiphertextLength(plaintext.Length)];
        sender.Encrypt(plaintext, ciphertext);
        var output = new byte[plaintext.Length];
        int length = receiver.Decrypt(ciphertext, output);
        return System.Text.Encoding.UTF8.GetString(output, 0, length);
    }

    private sealed record TransportPair(NoiseTransport Initiator, NoiseTransport Responder) : IDisposable
    {
        public void Dispose()
        {
            Initiator.Dispose();
            Responder.Dispose();
        }
    }
}
