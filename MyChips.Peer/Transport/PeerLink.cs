namespace MyChips.Peer.Transport;

/// <summary>
/// Everything about one peer agent: its open connections (either direction; the newest is used to send, PROTOCOL
/// §4.6), where to dial it, and the messages waiting to go. Guarded by its own lock; only the pump dequeues.
/// </summary>
internal sealed class PeerLink
{
    private readonly object _gate = new();
    private readonly LinkedList<PeerOutbound> _queue = new();
    private readonly List<PeerConnection> _connections = [];
    private PeerAddress? _address;
    private bool _pumping;

    public PeerLink(string agent, byte[] key)
    {
        Agent = agent;
        Key = key;
    }

    public string Agent { get; }

    /// <summary>The peer's X25519 static public key.</summary>
    public byte[] Key { get; }

    public PeerAddress? Address
    {
        get { lock (_gate) return _address; }
    }

    public void UpdateAddress(PeerAddress address)
    {
        if (address.Host is null || address.Port is null)
        {
            return;
        }

        lock (_gate)
        {
            _address = address;
        }
    }

    /// <summary>The newest open connection, if any.</summary>
    public PeerConnection? Current
    {
        get
        {
            lock (_gate)
            {
                for (int i = _connections.Count - 1; i >= 0; i--)
                {
                    if (_connections[i].IsOpen)
                    {
                        return _connections[i];
                    }
                }

                return null;
            }
        }
    }

    public PeerConnection[] Connections
    {
        get { lock (_gate) return [.. _connections]; }
    }

    /// <summary>Adds a connection and says whether queued messages are waiting that a pump should pick up.</summary>
    public bool Add(PeerConnection connection)
    {
        lock (_gate)
        {
            _connections.Add(connection);
            return StartPumpIfNeeded();
        }
    }

    public void Remove(PeerConnection connection)
    {
        lock (_gate)
        {
            _connections.Remove(connection);
        }
    }

    /// <summary>Queues a message; true when the caller must start the pump.</summary>
    public bool Enqueue(PeerOutbound message, int maxQueued)
    {
        lock (_gate)
        {
            if (_queue.Count >= maxQueued)
            {
                throw new PeerSendException(PeerSendFailure.QueueFull, $"{_queue.Count} messages already wait for {Agent}.");
            }

            _queue.AddLast(message);
            return StartPumpIfNeeded();
        }
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> live messages off the front into <paramref name="batch"/>. False when the
    /// queue is empty, in which case the pump has been marked stopped and must exit.
    /// </summary>
    public bool TryTake(List<PeerOutbound> batch, int max)
    {
        lock (_gate)
        {
            while (batch.Count < max && _queue.First is { } node)
            {
                _queue.RemoveFirst();
                if (!node.Value.IsAbandoned)
                {
                    batch.Add(node.Value);
                }
            }

            if (batch.Count == 0)
            {
                _pumping = false;
                return false;
            }

            return true;
        }
    }

    /// <summary>Puts messages that could not be sent back at the front, in their order.</summary>
    public void ReturnToFront(List<PeerOutbound> batch)
    {
        lock (_gate)
        {
            for (int i = batch.Count - 1; i >= 0; i--)
            {
                _queue.AddFirst(batch[i]);
            }
        }
    }

    /// <summary>Empties the queue (shutdown, or a peer that cannot be dialled) and stops the pump.</summary>
    public List<PeerOutbound> Drain()
    {
        lock (_gate)
        {
            var all = _queue.ToList();
            _queue.Clear();
            _pumping = false;
            return all;
        }
    }

    private bool StartPumpIfNeeded()
    {
        if (_pumping || _queue.Count == 0)
        {
            return false;
        }

        _pumping = true;
        return true;
    }
}
