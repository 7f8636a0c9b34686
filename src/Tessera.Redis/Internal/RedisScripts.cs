namespace Tessera.Redis.Internal;

/// <summary>
/// The Lua scripts that make each step atomic in Redis. They read Redis's own clock (<c>TIME</c>), so that node
/// clocks never have to agree; this needs Redis 5 or later (effects replication), which every supported Redis has.
/// </summary>
internal static class RedisScripts
{
    /// <summary>The incarnation: made when missing, so that a Redis that lost its data shows a new one.</summary>
    private const string Incarnation = """
        local inc = redis.call('HGET', KEYS[1], 'inc')
        if not inc then
          inc = ARGV[3]
          redis.call('HSET', KEYS[1], 'inc', inc)
        end
        """;

    /// <summary>
    /// Numbers and publishes an invalidation, then reads the live nodes in the same step: a node missing from the
    /// answer had not written a heartbeat when the message went out (and is not trusted yet, see NodeFence).
    /// KEYS: bus sequence, nodes. ARGV: channel, payload, new incarnation, live window (ms).
    /// Returns { incarnation, sequence, live node ids... }.
    /// </summary>
    public const string Publish = Incarnation + """

        local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
        redis.call('PUBLISH', ARGV[1], inc .. '|' .. seq .. '|' .. ARGV[2])
        """ + LiveNodes + """

        return result
        """;

    /// <summary>
    /// Sends a confirmation round for relying apps, stamped with the sequence number current at that moment (every
    /// invalidation Redis numbered before it), and reads the live nodes in the same step. Same KEYS and answer as
    /// <see cref="Publish"/>, and ARGV after the live window: the nodes not to ask (the asker, and the nodes that said
    /// their apps were confirmed); when every live node is one of them, nothing is sent. The sequence is read, not
    /// incremented.
    /// </summary>
    public const string Round = Incarnation + """

        local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
        """ + LiveNodes + """

        local not_asked = {}
        for i = 5, #ARGV do
          not_asked[ARGV[i]] = true
        end
        for i = 3, #result do
          if not not_asked[result[i]] then
            redis.call('PUBLISH', ARGV[1], inc .. '|' .. seq .. '|' .. ARGV[2])
            break
          end
        end
        return result
        """;

    /// <summary>
    /// Passes a relying app's acknowledgement to the node that holds its stream, if that node is live.
    /// KEYS: nodes. ARGV: the node's channel, payload, node id, live window (ms). Returns the number of receivers, or
    /// -1 when the node is not live.
    /// </summary>
    public const string AppAck = """
        local at = tonumber(redis.call('HGET', KEYS[1], ARGV[3]))
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        if at == nil or now - at > tonumber(ARGV[4]) then
          return -1
        end
        return redis.call('PUBLISH', ARGV[1], ARGV[2])
        """;

    /// <summary>The end of <see cref="Publish"/> and <see cref="Round"/>: puts { inc, seq, live node ids... } in <c>result</c>.</summary>
    private const string LiveNodes = """

        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local window = tonumber(ARGV[4])
        local entries = redis.call('HGETALL', KEYS[2])
        local result = { inc, seq }
        for i = 1, #entries, 2 do
          local at = tonumber(entries[i + 1])
          if at ~= nil and now - at <= window then
            result[#result + 1] = entries[i]
          end
        end
        """;

    /// <summary>
    /// Publishes a ping to the node's own channel, stamped with the sequence number current at that moment and a new
    /// tick (the counter that dates reads for the shared session cache, see SharedEntryGate).
    /// KEYS: bus sequence. ARGV: ping channel, payload, new incarnation. Returns the number of receivers.
    /// The message is <c>inc|seq|tick|payload</c>.
    /// </summary>
    public const string Ping = Incarnation + """

        local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
        local tick = redis.call('HINCRBY', KEYS[1], 'tick', 1)
        return redis.call('PUBLISH', ARGV[1], inc .. '|' .. seq .. '|' .. tick .. '|' .. ARGV[2])
        """;

    /// <summary>
    /// Writes the node's heartbeat (Redis time, unix ms), removes entries older than the retention, and returns the
    /// live node ids. KEYS: nodes. ARGV: node id, live window (ms), retention (ms).
    /// </summary>
    public const string Heartbeat = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('HSET', KEYS[1], ARGV[1], now)
        local window = tonumber(ARGV[2])
        local retention = tonumber(ARGV[3])
        local entries = redis.call('HGETALL', KEYS[1])
        local live = {}
        for i = 1, #entries, 2 do
          local at = tonumber(entries[i + 1])
          if at == nil or now - at > retention then
            redis.call('HDEL', KEYS[1], entries[i])
          elseif now - at <= window then
            live[#live + 1] = entries[i]
          end
        end
        return live
        """;

    /// <summary>
    /// Counts an attempt in a fixed window (of an IP or an account); the first attempt sets the window's expiry in the
    /// same step. KEYS: the counter. ARGV: window (ms). Returns { count, milliseconds left in the window }.
    /// </summary>
    public const string CountAttempt = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
        end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          ttl = tonumber(ARGV[1])
        end
        return { count, ttl }
        """;

    /// <summary>
    /// Counts a failed attempt (a wrong password) for an account; failures older than the longest backoff no longer count.
    /// KEYS: the account's hash. ARGV: now (unix ms), maximum backoff (ms), expiry (ms).
    /// </summary>
    public const string RecordFailure = """
        local now = tonumber(ARGV[1])
        local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
        if last == nil or now - last > tonumber(ARGV[2]) then
          redis.call('HSET', KEYS[1], 'count', 0)
        end
        redis.call('HINCRBY', KEYS[1], 'count', 1)
        redis.call('HSET', KEYS[1], 'last', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;
}
