namespace MyChips.Data.Domain;

/// <summary>The stable error codes of the domain and the HTTP status each maps to (docs/api.md lists them).</summary>
public static class DomainErrors
{
    public static DomainException Unauthorized(string message = "Missing, expired or invalid credentials.") => new("unauthorized", message, 401);

    public static DomainException InvalidTicket() => new("invalid_ticket", "The ticket is unknown, used or expired.", 401);

    public static DomainException UserDisabled() => new("user_disabled", "This user is disabled by the site's operator.", 401);

    public static DomainException UserNotFound(string user) => new("user_not_found", $"No user '{user}' on this site.", 404);

    public static DomainException UserExists(string cuid) => new("user_exists", $"A user with CHIP user id '{cuid}' already exists.", 409);

    public static DomainException TallyNotFound(Guid tally) => new("tally_not_found", $"No tally {tally} of yours.", 404);

    public static DomainException ChitNotFound(Guid chit) => new("chit_not_found", $"No chit {chit} on that tally of yours.", 404);

    public static DomainException InvalidStateTransition(string what, string state) =>
        new("invalid_state_transition", $"Cannot {what} in state '{state}'.", 409);

    public static DomainException BadSignature(string what) => new("bad_signature", $"The signature of the {what} does not verify with the signer's key.", 400);

    public static DomainException BadKey(string message) => new("bad_key", message, 400);

    public static DomainException AmountOutOfRange(string message) => new("amount_out_of_range", message, 400);

    public static DomainException LimitExceeded(long limit) =>
        new("limit_exceeded", $"The payment would take the balance beyond the credit limit of {limit} milliCHIPs your partner grants.", 409);

    public static DomainException PartnerLimitExceeded(long limit) =>
        new("limit_exceeded", $"The payment would take the balance beyond the credit limit of {limit} milliCHIPs this side grants its partner.", 409);

    public static DomainException PendingLimitReached(int limit) =>
        new("pending_limit_reached", $"The tally already holds {limit} pending invoices; approve or refuse some first.", 409);

    public static DomainException TotalOutOfRange(string what) =>
        new("total_out_of_range", $"The {what} of the tally would leave the range of ±{LedgerBounds.MaxTotal} milliCHIPs.", 409);

    public static DomainException TallyLimitReached() =>
        new("tally_limit_reached", $"The user already holds {LedgerBounds.MaxBalanceTallies} open or closed tallies.", 409);

    /// <summary>
    /// A peer message for a user, tally or invitation this site does not share with the sender. One text for every such
    /// case, so a stranger learns nothing about which users or tallies exist; <paramref name="detail"/> is for our log only.
    /// </summary>
    public static DomainException UnknownRecipient(string detail) =>
        new("unknown_recipient", "No tally or invitation between the sender and the addressed user.", 404) { Detail = detail };

    public static DomainException InvalidField(string field, string message) => new("invalid_field", $"{field}: {message}", 400);

    public static DomainException InvalidInvitation() => new("invalid_invitation", "The invitation is unknown, used or expired.", 404);

    public static DomainException InvitationExpired(DateTimeOffset expires) =>
        new("invitation_expired", $"The invitation expired at {expires.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC; ask the inviter for a new one.", 410);

    public static DomainException KeyNotSupportedByPartner(string curve) => new("key_not_supported_by_partner",
        $"Your partner's site is a reference MyCHIPs node, which verifies user signatures only as P-521 (ECDSA with SHA-384); your key is {curve}. Register a P-521 key to deal with users of reference sites.", 409);

    public static DomainException DuplicateId(string what, Guid id) =>
        new("duplicate_id", $"A different {what} with id {id} already exists.", 409);
}
