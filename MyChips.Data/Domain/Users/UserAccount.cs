using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>A user of this site. <see cref="Cert"/> and <see cref="SigningKey"/> are null until a ticket is redeemed.</summary>
public sealed record UserAccount(long UserId, string Cuid, string Agent, string Name, JsonObject? Cert, JsonObject? SigningKey)
{
    public Chad Chad(SiteAgent agent) => new(Cuid, Agent, agent.Host, agent.Port);
}
