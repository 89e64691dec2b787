namespace MyChips.Peer.Noise.Vectors;

/// <summary>
/// Runs vectors with both parties in memory: every handshake message must encrypt to the expected ciphertext and
/// decrypt to the payload, then the remaining messages go through the split transport, alternating initiator and
/// responder (initiator only, for one-way patterns). The handshake hashes of both sides must agree, and match
/// <c>handshake_hash</c> when the vector has one.
/// </summary>
public static class NoiseVectorRunner
{
    public static NoiseVectorReport Run(NoiseVectorFile file, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        var outcomes = new List<NoiseVectorOutcome>(file.Vectors.Length);
        for (int i = 0; i < file.Vectors.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            outcomes.Add(RunOne(file.Vectors[i], i));
        }

        return new NoiseVectorReport(outcomes);
    }

    public static NoiseVectorOutcome RunOne(NoiseVector vector, int index)
    {
        ArgumentNullException.ThrowIfNull(vector);
        NoiseProtocol protocol;
        try
        {
            protocol = NoiseProtocol.Parse(vector.ProtocolName);
        }
        catch (NotSupportedException ex)
        {
            // A pattern modifier other than pskN (fallback): the message names it.
            return new(index, vector.ProtocolName, NoiseVectorStatus.Skipped, ex.Message);
        }
        catch (FormatException ex)
        {
            // A name we cannot read says nothing about our implementation: skipped, with the reason, not failed.
            return new(index, vector.ProtocolName, NoiseVectorStatus.Skipped, $"malformed name: {ex.Message}");
        }

        if (!protocol.IsSupported)
        {
            return new(index, vector.ProtocolName, NoiseVectorStatus.Skipped, $"{protocol.Dh} not supported");
        }

        try
        {
            string? failure = Execute(protocol, vector);
            return failure is null
                ? new(index, vector.ProtocolName, NoiseVectorStatus.Passed)
                : new(index, vector.ProtocolName, NoiseVectorStatus.Failed, failure);
        }
        catch (Exception ex) when (ex is NoiseException or ArgumentException or InvalidOperationException)
        {
            return new(index, vector.ProtocolName, NoiseVectorStatus.Failed, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private static string? Execute(NoiseProtocol protocol, NoiseVector vector)
    {
        using var initStatic = KeyPair(vector.InitStatic);
        using var initEphemeral = KeyPair(vector.InitEphemeral);
        using var respStatic = KeyPair(vector.RespStatic);
        using var respEphemeral = KeyPair(vector.RespEphemeral);
        using var initiator = new HandshakeState(
            protocol, NoiseRole.Initiator, vector.InitPrologue, initStatic, vector.InitRemoteStatic, vector.InitPsks, initEphemeral);
        using var responder = new HandshakeState(
            protocol, NoiseRole.Responder, vector.RespPrologue, respStatic, vector.RespRemoteStatic, vector.RespPsks, respEphemeral);

        var buffer = new byte[HandshakeState.MaxMessageLength];
        var plaintext = new byte[HandshakeState.MaxMessageLength];
        int m = 0;
        for (; m < vector.Messages.Length && !initiator.IsCompleted; m++)
        {
            var expected = vector.Messages[m];
            var (writer, reader) = initiator.IsWriteTurn ? (initiator, responder) : (responder, initiator);
            int written = writer.WriteMessage(expected.Payload, buffer);
            if (!buffer.AsSpan(0, written).SequenceEqual(expected.Ciphertext))
            {
                return $"handshake message {m}: ciphertext differs (got {written} bytes {Convert.ToHexString(buffer, 0, written)})";
            }

            int read = reader.ReadMessage(expected.Ciphertext, plaintext);
            if (!plaintext.AsSpan(0, read).SequenceEqual(expected.Payload))
            {
                return $"handshake message {m}: decrypted payload differs";
            }
        }

        if (!initiator.IsCompleted || !responder.IsCompleted)
        {
            return $"the vector ends after {m} messages, before the handshake completes";
        }

        if (!initiator.HandshakeHash.SequenceEqual(responder.HandshakeHash))
        {
            return "the two sides' handshake hashes differ";
        }

        if (vector.HandshakeHash is not null && !initiator.HandshakeHash.SequenceEqual(vector.HandshakeHash))
        {
            return "handshake hash differs from handshake_hash";
        }

        using var initTransport = initiator.Split();
        using var respTransport = responder.Split();
        for (; m < vector.Messages.Length; m++)
        {
            var expected = vector.Messages[m];
            bool fromInitiator = protocol.Pattern.IsOneWay || m % 2 == 0;
            var (sender, receiver) = fromInitiator ? (initTransport, respTransport) : (respTransport, initTransport);
            int written = sender.Encrypt(expected.Payload, buffer);
            if (!buffer.AsSpan(0, written).SequenceEqual(expected.Ciphertext))
            {
                return $"transport message {m} ({(fromInitiator ? "initiator" : "responder")}): ciphertext differs";
            }

            int read = receiver.Decrypt(expected.Ciphertext, plaintext);
            if (!plaintext.AsSpan(0, read).SequenceEqual(expected.Payload))
            {
                return $"transport message {m}: decrypted payload differs";
            }
        }

        return null;
    }

    private static X25519KeyPair? KeyPair(byte[]? privateKey) =>
        privateKey is null ? null : X25519KeyPair.FromPrivateKey(privateKey);
}
