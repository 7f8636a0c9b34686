using Microsoft.Extensions.Options;

namespace Tessera.Redis;

/// <summary>
/// How a node takes part in a Redis-backed cluster: the invalidation bus, membership, and the self-fencing watchdog.
/// The defaults suit a LAN; the rules checked by <see cref="RedisClusterOptionsValidator"/> keep the timing argument
/// of the bus sound (a node that misses a message has fenced itself before the publisher stops waiting for it).
/// </summary>
public sealed class RedisClusterOptions
{
    /// <summary>Where the settings are in Tessera's configuration section: <c>Tessera:Redis</c>.</summary>
    public const string SectionName = "Redis";

    /// <summary>StackExchange.Redis configuration string (<c>Tessera:Redis:Configuration</c>).</summary>
    public string Configuration { get; set; } = string.Empty;

    /// <summary>
    /// First part of every key and channel. Nodes of one cluster must agree on it; two clusters (or two test runs)
    /// sharing one Redis must not.
    /// </summary>
    public string KeyPrefix { get; set; } = "tessera";

    /// <summary>This node's name in the membership hash and on acknowledgements; a new GUID per process when unset.</summary>
    public string? NodeId { get; set; }

    /// <summary>How long a publisher waits for every live node's acknowledgement (and, before that, to get the message out).</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a node writes its heartbeat into the membership hash.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A node whose heartbeat is younger than this (by Redis's clock) is live, and publishers wait for it.</summary>
    public TimeSpan LiveWindow { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the watchdog sends a ping through Redis to itself, and checks the node's state.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A node stops serving from its cache when its newest ping that proved the subscription complete was sent longer
    /// ago than this. It serves from the cache again once such proofs have covered this long without a break.
    /// </summary>
    public TimeSpan FenceAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Membership entries older than this are removed by whichever node notices.</summary>
    public TimeSpan DeadNodeRetention { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long an entry of the shared session cache stays in Redis (at most until its session's absolute expiry).
    /// Entries are never trusted by age (see SharedEntryGate); this bounds Redis memory and how old a last-active
    /// time in an entry can be. Zero turns the shared cache off: a miss in a node's memory reads the store.
    /// </summary>
    public TimeSpan SharedCacheLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Bound on one Redis call that is not on the publishing path (heartbeat, acknowledgement, throttle).</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The relying apps' lease (<c>Tessera:Clients:RevocationLease</c>, copied here when the options are built): a node
    /// vouches for its apps only while it is trusted, and an app may go on trusting its verdicts this long after.
    /// </summary>
    internal TimeSpan RelyingAppLease { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The node counts its heartbeat as stale (and fences itself) this long after the last one was sent: early enough
    /// that no publisher can have dropped it from the live set while it still serves from its cache, nor within one
    /// <see cref="RelyingAppLease"/> after, while an app it vouched for may still trust what it holds.
    /// </summary>
    internal TimeSpan HeartbeatStaleAfter => LiveWindow - (2 * PingInterval) - RelyingAppLease;

    /// <summary>
    /// A node whose pings reach Redis but none of which has come back for this long has lost its subscriptions
    /// without being told (it is fenced well before: see <see cref="FenceAfter"/>); it subscribes again.
    /// </summary>
    internal TimeSpan ResubscribeAfter => 2 * FenceAfter;
}

/// <summary>Fails start-up for settings under which a silent node could still be serving when a publisher gives up on it.</summary>
public sealed class RedisClusterOptionsValidator : IValidateOptions<RedisClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            failures.Add("Tessera:Redis:Configuration must be a StackExchange.Redis configuration string.");
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.AsSpan().IndexOfAny("{}| ") >= 0)
        {
            failures.Add("Tessera:Redis:KeyPrefix must be non-empty, without braces, bars or spaces.");
        }

        if (options.NodeId is { } nodeId && (nodeId.Length == 0 || nodeId.AsSpan().IndexOfAny("{}| ") >= 0))
        {
            failures.Add("Tessera:Redis:NodeId, when set, must be non-empty, without braces, bars or spaces.");
        }

        foreach (var (value, what) in new[]
                 {
                     (options.AckTimeout, "AckTimeout"), (options.HeartbeatInterval, "HeartbeatInterval"),
                     (options.LiveWindow, "LiveWindow"), (options.PingInterval, "PingInterval"),
                     (options.FenceAfter, "FenceAfter"), (options.DeadNodeRetention, "DeadNodeRetention"),
                     (options.OperationTimeout, "OperationTimeout"),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"Tessera:Redis:{what} must be positive.");
            }
        }

        if (options.RelyingAppLease <= TimeSpan.Zero)
        {
            failures.Add("Tessera:Clients:RevocationLease must be positive.");
        }

        if (options.SharedCacheLifetime < TimeSpan.Zero)
        {
            failures.Add("Tessera:Redis:SharedCacheLifetime must be zero (off) or positive.");
        }

        if (failures.Count > 0)
        {
            return ValidateOptionsResult.Fail(failures);
        }

        if (options.FenceAfter < 2 * options.PingInterval)
        {
            failures.Add("Tessera:Redis:FenceAfter must be at least twice PingInterval, or a healthy node fences itself between two pings.");
        }

        // A node that missed a message fences itself at the latest FenceAfter after the message went out, plus one
        // watchdog tick to notice; the publisher must wait at least that long before it answers.
        if (options.AckTimeout <= options.FenceAfter + (2 * options.PingInterval))
        {
            failures.Add("Tessera:Redis:AckTimeout must exceed FenceAfter plus two PingIntervals, or a publisher could answer before a silent node has fenced itself.");
        }

        // A node vouches for its relying apps only while trusted, and their leases outlive that by one lease: it must stay
        // in every other node's live set that long, so it fences on a stale heartbeat a lease earlier than it otherwise would.
        if (options.HeartbeatStaleAfter <= 2 * options.HeartbeatInterval)
        {
            failures.Add(
                "Tessera:Redis:LiveWindow must exceed twice HeartbeatInterval plus twice PingInterval plus Tessera:Clients:RevocationLease, " +
                "or a healthy node fences itself between heartbeats (a node fences on a stale heartbeat one lease before the others drop it from the live set, " +
                "so that no relying app still trusts a lease it granted once no node waits for it).");
        }

        if (options.DeadNodeRetention <= options.LiveWindow)
        {
            failures.Add("Tessera:Redis:DeadNodeRetention must exceed LiveWindow.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
