namespace MyChips.Data.Domain;

/// <summary>This site's agent: its id (b64v Ed25519 public key) and where peers reach it.</summary>
public sealed record SiteAgent(string Id, string Host, int Port);
