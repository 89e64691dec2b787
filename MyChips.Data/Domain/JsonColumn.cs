using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>A jsonb value read as text and parsed only when needed (a payment never looks at most of a tally's JSON).</summary>
internal sealed class JsonColumn
{
    private string? _text;
    private JsonNode? _node;
    private bool _parsed;

    public JsonColumn(string? text) => _text = text;

    public JsonColumn(JsonNode? node)
    {
        _node = node;
        _parsed = true;
        Changed = true;
    }

    /// <summary>True when the value was set in this transaction (it must be written back).</summary>
    public bool Changed { get; }

    public JsonNode? Node
    {
        get
        {
            if (!_parsed)
            {
                _node = _text is null ? null : JsonNode.Parse(_text);
                _parsed = true;
            }

            return _node;
        }
    }

    public string? Text => _parsed ? _node?.ToJsonString() : _text;

    /// <summary>A copy for building messages and views (a node can have only one parent).</summary>
    public JsonNode? Clone() => Node?.DeepClone();
}
