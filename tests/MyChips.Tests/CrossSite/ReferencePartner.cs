using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Tests.Peer;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// A partner that behaves like a MyCHIPs reference node as far as our side can tell (PROTOCOL 4.5, 7.1-7.3): raw mode,
/// no message ids, never a receipt, and the reference's context guards, which accept some messages again after its user
/// moved on (a re-sent <c>offer</c> revives a void tally, a re-sent <c>pend</c> a refused invoice). One user, rob, with a
/// P-521 key. The test drives rob's decisions; <see cref="Apply"/> plays every message our site sent, in order.
/// </summary>
public sealed class ReferencePartner : IAsyncDisposable
{
    private readonly Dictionary<Guid, JsonObject> _tallies = [];
    private readonly Dictionary<Guid, JsonObject> _chits = [];
    private int _seen;

    private ReferencePartner(PeerNode node, UserSigningKey key)
    {
        Node = node;
        Key = key;
        Chad = new JsonObject { ["cuid"] = "rob", ["agent"] = node.AgentId, ["host"] = "127.0.0.1", ["port"] = node.Port };
        // The reference renders the certificate date with PostgreSQL's default JSON form: a literal '+'.
        Cert = new JsonObject
        {
            ["chad"] = Chad.DeepClone(), ["type"] = "p", ["public"] = key.ExportPublicJwk(),
            ["name"] = new JsonObject { ["surname"] = "Reference", ["first"] = "Rob" }, ["date"] = "2025-03-01T09:15:02.41+00:00",
        };
    }

    public PeerNode Node { get; }

    public UserSigningKey Key { get; }

    public JsonObject Chad { get; }

    public JsonObject Cert { get; }

    /// <summary>The state codes of rob's half of each tally, and of each chit, as the reference would show them.</summary>
    public Dictionary<Guid, string> TallyStates { get; } = [];

    public Dictionary<Guid, string> ChitStates { get; } = [];

    /// <summary>Every message our site sent rob, in arrival order (re-sends included).</summary>
    public List<JsonObject> Received { get; } = [];

    public static async Task<ReferencePartner> StartAsync() =>
        new(await PeerNode.StartAsync(settings: new() { ["Peer:Mode"] = "Raw" }), UserSigningKey.Generate(UserKeyCurve.P521));

    /// <summary>Applies what arrived since the last call with the reference's context guards (its <c>tally_process</c>, <c>chit_process</c>).</summary>
    public void Apply()
    {
        var deliveries = Node.Sink.Deliveries.ToList();
        for (; _seen < deliveries.Count; _seen++)
        {
            var message = deliveries[_seen].Message;
            Received.Add(message);
            var obj = message["object"] as JsonObject;
            switch ((string?)message["target"], (string?)message["action"])
            {
                case ("tally", "offer"):
                    var tally = Guid.Parse((string)obj!["uuid"]!);
                    if (TallyStates.GetValueOrDefault(tally) is null or "void" or "H.offer" or "P.offer")
                    {
                        _tallies[tally] = (JsonObject)obj.DeepClone();
                        TallyStates[tally] = "P.offer";
                    }

                    break;
                case ("chit", "pend"):
                    var chit = Guid.Parse((string)obj!["uuid"]!);
                    if (ChitStates.GetValueOrDefault(chit) is null or "L.void")
                    {
                        _chits[chit] = (JsonObject)obj.DeepClone();
                        ChitStates[chit] = "L.pend";
                    }

                    break;
            }
        }
    }

    /// <summary>rob redeems an invitation (sent as the reference sends it: an I packet, no id).</summary>
    public Task RedeemAsync(JsonObject invitation, PeerAddress site) =>
        Node.Manager.SendAsync(site, new JsonObject
        {
            ["target"] = "tally", ["action"] = "ticket", ["to"] = invitation["chad"]!.DeepClone(), ["from"] = Chad.DeepClone(),
            ["ticket"] = new JsonObject { ["token"] = invitation["token"]!.DeepClone(), ["cert"] = Cert.DeepClone() },
        });

    /// <summary>rob refuses the offer he holds (P.offer → void) and says so.</summary>
    public Task RefuseOfferAsync(Guid tally, PeerAddress site)
    {
        Assert.Equal("P.offer", TallyStates[tally]);
        TallyStates[tally] = "void";
        return SendAsync(site, "tally", "void", _tallies[tally]);
    }

    /// <summary>rob signs and accepts the offer he holds (P.offer → open).</summary>
    public Task AcceptOfferAsync(Guid tally, PeerAddress site)
    {
        Assert.Equal("P.offer", TallyStates[tally]);
        var wire = (JsonObject)_tallies[tally].DeepClone();
        var sign = (JsonObject)wire["sign"]!;
        wire.Remove("sign");
        var side = (string?)wire["stock"]!["cert"]!["chad"]!["cuid"] == "rob" ? "stock" : "foil";
        sign[side] = Base64Url.Encode(Key.Sign(TallyJson.SignedBytes(wire)));
        wire["sign"] = sign;
        TallyStates[tally] = "open";
        return SendAsync(site, "tally", "open", wire);
    }

    /// <summary>rob refuses the invoice he holds (L.pend → L.void).</summary>
    public Task RefuseInvoiceAsync(Guid chit, PeerAddress site)
    {
        Assert.Equal("L.pend", ChitStates[chit]);
        ChitStates[chit] = "L.void";
        return SendAsync(site, "chit", "void", _chits[chit]);
    }

    private Task SendAsync(PeerAddress site, string target, string action, JsonObject obj)
    {
        var to = Received.Last(m => (string?)m["object"]?["uuid"] == (string?)obj["uuid"])["from"]!.DeepClone();
        return Node.Manager.SendAsync(site, new JsonObject
        {
            ["target"] = target, ["action"] = action, ["to"] = to, ["from"] = Chad.DeepClone(), ["object"] = obj.DeepClone(),
        });
    }

    public async ValueTask DisposeAsync()
    {
        Key.Dispose();
        await Node.DisposeAsync();
    }
}
