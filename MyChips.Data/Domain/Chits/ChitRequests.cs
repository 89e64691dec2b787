using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>A direct payment: the client chose the uuid and date and signed S(core) with its key.</summary>
public sealed record Payment(Guid Uuid, string Date, long Units, JsonNode? Ref, string? Memo, string Signature);

/// <summary>An invoice: the payee asks the partner to pay; no signature (the payer signs when approving).</summary>
public sealed record InvoiceRequest(Guid Uuid, long Units, string? Date = null, JsonNode? Ref = null, string? Memo = null);

/// <summary>A settings chit (target, bound, reward, clutch, close), signed by the issuer like a payment.</summary>
public sealed record SettingsRequest(Guid Uuid, string Date, JsonObject Ref, string? Memo, string Signature);
