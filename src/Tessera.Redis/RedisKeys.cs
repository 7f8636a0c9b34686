using StackExchange.Redis;

namespace Tessera.Redis;

/// <summary>
/// Every key and channel Tessera uses in Redis. Keys that one script touches together share a hash tag, so that the
/// layout works on Redis Cluster: the bus's sequence and the membership hash are read in the same script as the
/// PUBLISH (<c>{bus}</c>); throttle counters are tagged per IP and per account.
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>Hash: node id → the Redis time (unix ms) of its last heartbeat.</summary>
    public RedisKey Nodes { get; } = $"{prefix}:{{bus}}:nodes";

    /// <summary>Hash: <c>inc</c> (this Redis's incarnation: a GUID that a restart without data replaces) and <c>seq</c>.</summary>
    public RedisKey BusSequence { get; } = $"{prefix}:{{bus}}:seq";

    public RedisChannel Invalidations { get; } = RedisChannel.Literal($"{prefix}:invalidations");

    public RedisChannel Acks(string nodeId) => RedisChannel.Literal($"{Prefix}:acks:{nodeId}");

    public RedisChannel Ping(string nodeId) => RedisChannel.Literal($"{Prefix}:ping:{nodeId}");

    /// <summary>String: a <see cref="SharedSessionEntry"/>; tagged by its own token hash (single-key commands only).</summary>
    public RedisKey SharedSession(Tessera.Core.Sessions.TokenHash tokenHash) => $"{Prefix}:{{s:{tokenHash}}}";

    public RedisKey IpLogins(string clientIp) => $"{Prefix}:{{ip:{clientIp}}}:logins";

    public RedisKey AccountFailures(string accountKey) => $"{Prefix}:{{acct:{accountKey}}}:failures";
}
