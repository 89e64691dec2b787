namespace MyChips.Peer.Noise;

/// <summary>
/// The transport phase after <see cref="HandshakeState.Split"/>: one CipherState per direction, empty associated data
/// (PROTOCOL §4.3), at most 65535 bytes per message. Encrypts and decrypts into caller buffers without allocating.
/// One-way patterns give the initiator only a sender and the responder only a receiver. Not thread-safe.
/// </summary>
public sealed class NoiseTransport : IDisposable
{
    public const int MaxMessageLength = HandshakeState.MaxMessageLength;

    public const int MaxPayloadLength = MaxMessageLength - CipherState.TagLength;

    private readonly byte[] _handshakeHash;

    internal NoiseTransport(NoiseRole role, CipherState? sender, CipherState? receiver, byte[] handshakeHash)
    {
        Role = role;
        Sender = sender;
        Receiver = receiver;
        _handshakeHash = handshakeHash;
    }

    public NoiseRole Role { get; }

    /// <summary>Encrypts our outgoing messages (c1 for the initiator, c2 for the responder); null if we may not send.</summary>
    public CipherState? Sender { get; }

    /// <summary>Decrypts the peer's messages; null if the peer may not send.</summary>
    public CipherState? Receiver { get; }

    /// <summary>The final handshake hash, for channel binding (§11.2).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _handshakeHash;

    public static int GetCiphertextLength(int plaintextLength) => plaintextLength + CipherState.TagLength;

    /// <summary>Encrypts one message into <paramref name="ciphertext"/> (plaintext length + 16) and returns its length.</summary>
    public int Encrypt(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        var sender = Sender ?? throw new InvalidOperationException("This side of a one-way pattern cannot send.");
        if (plaintext.Length > MaxPayloadLength)
        {
            throw new ArgumentException($"A transport payload is at most {MaxPayloadLength} bytes.", nameof(plaintext));
        }

        return sender.EncryptWithAd(default, plaintext, ciphertext);
    }

    /// <summary>Decrypts one message into <paramref name="plaintext"/> and returns its length; throws <see cref="NoiseException"/> if it does not authenticate.</summary>
    public int Decrypt(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        var receiver = Receiver ?? throw new InvalidOperationException("This side of a one-way pattern cannot receive.");
        if (ciphertext.Length > MaxMessageLength)
        {
            throw new NoiseException($"The transport message is {ciphertext.Length} bytes; Noise allows {MaxMessageLength}.");
        }

        return receiver.DecryptWithAd(default, ciphertext, plaintext);
    }

    public void Dispose()
    {
        Sender?.Dispose();
        Receiver?.Dispose();
    }
}
