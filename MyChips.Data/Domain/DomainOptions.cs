namespace MyChips.Data.Domain;

/// <summary>Lifetimes of secrets and the site's public addresses (configuration section <c>Domain</c>).</summary>
public sealed class DomainOptions
{
    public const string Section = "Domain";

    /// <summary>Login tickets issued by <c>mychips user ticket</c>.</summary>
    public TimeSpan TicketLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Bearer tokens of the user API; short-lived, a client logs in again with a signed challenge.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long an instance trusts a session it has checked before checking it again (0 = every request). Logging
    /// out on another instance takes effect here within this time.
    /// </summary>
    public TimeSpan SessionCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan ChallengeLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Tally invitations (the reference uses 48 hours).</summary>
    public TimeSpan InvitationLifetime { get; set; } = TimeSpan.FromHours(48);

    /// <summary>
    /// How long an invitation our user redeemed keeps the inviter's first offer welcome; a first offer without such a
    /// redemption is refused (docs/peer-rules.md).
    /// </summary>
    public TimeSpan RedemptionLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Where peers reach this site's agent: the <c>host</c>/<c>port</c> of every CHAD we publish.</summary>
    public string AgentHost { get; set; } = "127.0.0.1";

    public int AgentPort { get; set; } = 65430;

    /// <summary>The base URL printed in ticket and invitation links.</summary>
    public string PublicUrl { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The tally contract reference (<c>agree</c>) of new drafts: a RID string or <c>{host, source|rid}</c> as JSON.</summary>
    public string Agreement { get; set; } = """{"host":"mychips.org","source":"Tally_Contract/eng"}""";
}
