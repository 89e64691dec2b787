namespace MyChips.Peer.Noise.Vectors;

/// <summary>One message of a vector: the plaintext payload and the exact ciphertext expected on the wire.</summary>
public sealed record NoiseVectorMessage(byte[] Payload, byte[] Ciphertext);
