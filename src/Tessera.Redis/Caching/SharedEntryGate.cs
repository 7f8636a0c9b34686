using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tessera.Redis.Caching;

/// <summary>
/// Decides whether this node may answer from an entry of the shared session cache in Redis, an entry some node read
/// from the store at some time. The question is always the same: was that read made after every change this node
/// knows of for the user?
///
/// <para>Reads are dated on one Redis-side counter, the tick (<c>{bus}:seq</c> field <c>tick</c>), which every watchdog
/// ping increments. A filler reads the tick before it reads the store and stamps the entry with it. When this node
/// applies an invalidation for a user (from the bus, the PostgreSQL listener, or its own publish), the change is
/// committed; the user is marked <em>pending</em> at that local time. The first of this node's pings sent after the
/// mark comes back with tick <c>k</c>, made in Redis after the mark: an entry stamped with <c>k</c> or later was read
/// from the store after the change, so entries for the user must carry at least <c>k</c>. Until that ping is back,
/// no entry for the user is taken.</para>
///
/// <para>Anything that may have lost changes for this node (a fence: a lost connection, a gap in the sequence; the
/// session cache distrusted or dropped by the PostgreSQL listener) marks <em>every</em> user pending the same way: the
/// floor for all entries becomes the tick of the first ping sent afterwards. Invalidations still on their way to this
/// node are no different from the node's own memory: the publisher waits for this node's acknowledgement, which it
/// sends only after applying (and marking).</para>
///
/// <para>Memory is bounded: past <c>capacity</c> marked users, the resolved ones are folded into the floor (their
/// highest tick), which refuses more entries but never a wrong one.</para>
/// </summary>
internal sealed class SharedEntryGate(int capacity = 100_000)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Mark> _users = new(StringComparer.Ordinal);
    private readonly Queue<(string UserId, TimeSpan Since)> _pending = new();
    private string? _incarnation;
    private long _floor = long.MaxValue;
    private TimeSpan? _allPendingSince = TimeSpan.MinValue;
    private Func<TimeSpan>? _now;

    private struct Mark
    {
        public long Tick;
        public TimeSpan? PendingSince;
    }

    /// <summary>Whether any entry could be taken now (this node has a floor and no failure is pending).</summary>
    public bool IsOpen
    {
        get
        {
            lock (_lock)
            {
                // The gate opens only on a proof, which has taken the incarnation first.
                return _allPendingSince is null;
            }
        }
    }

    /// <summary>Gives the gate the node's clock (the one pings are dated on); until then every entry is refused anyway.</summary>
    public void Attach(Func<TimeSpan> now) => _now = now;

    /// <summary>A change for <paramref name="userId"/> is committed and applied here, now.</summary>
    public void MarkUser(string userId)
    {
        if (_now is { } now)
        {
            MarkUser(userId, now());
        }
    }

    /// <summary>A change for <paramref name="userId"/> is committed and applied here at <paramref name="now"/>.</summary>
    public void MarkUser(string userId, TimeSpan now)
    {
        lock (_lock)
        {
            if (now <= _allPendingSince)
            {
                // Every entry waits for a ping sent after the failure, which also comes after now: nothing to add.
                return;
            }

            ref var mark = ref CollectionsMarshal.GetValueRefOrAddDefault(_users, userId, out _);
            if (mark.PendingSince is null)
            {
                mark.PendingSince = now;
                _pending.Enqueue((userId, now));
            }

            if (_users.Count > capacity)
            {
                FoldResolvedIntoFloor(now);
            }
        }
    }

    /// <summary>This node may have missed changes for anyone, up to <paramref name="now"/>.</summary>
    public void MarkAll(TimeSpan now)
    {
        lock (_lock)
        {
            _allPendingSince = _allPendingSince is { } since && since > now ? since : now;
            _users.Clear();
            _pending.Clear();
        }
    }

    /// <summary>
    /// One of this node's pings, sent at <paramref name="sentAt"/>, came back with the tick Redis gave it, proving this
    /// node applied everything published before it.
    /// </summary>
    public void OnProof(string incarnation, TimeSpan sentAt, long tick)
    {
        lock (_lock)
        {
            if (!string.Equals(_incarnation, incarnation, StringComparison.Ordinal))
            {
                // A new Redis: ticks start again, and nothing stamped before means anything. Wait for a ping sent now.
                _incarnation = incarnation;
                _allPendingSince = sentAt;
                _floor = long.MaxValue;
                _users.Clear();
                _pending.Clear();
                return;
            }

            if (_allPendingSince is { } all && sentAt > all)
            {
                _allPendingSince = null;
                _floor = tick;
            }

            while (_pending.TryPeek(out var pending) && pending.Since < sentAt)
            {
                _pending.Dequeue();
                ref var mark = ref CollectionsMarshal.GetValueRefOrNullRef(_users, pending.UserId);
                if (!Unsafe.IsNullRef(ref mark) && mark.PendingSince == pending.Since)
                {
                    mark.PendingSince = null;
                    mark.Tick = Math.Max(mark.Tick, tick);
                }
            }
        }
    }

    /// <summary>Whether an entry for <paramref name="userId"/>, stamped as read after tick <paramref name="tick"/> of <paramref name="incarnation"/>, may answer.</summary>
    public bool MayServe(string userId, string incarnation, long tick)
    {
        lock (_lock)
        {
            if (_allPendingSince is not null || tick < _floor || !string.Equals(_incarnation, incarnation, StringComparison.Ordinal))
            {
                return false;
            }

            return !_users.TryGetValue(userId, out var mark) || (mark.PendingSince is null && tick >= mark.Tick);
        }
    }

    private void FoldResolvedIntoFloor(TimeSpan now)
    {
        var highest = long.MinValue;
        var resolved = new List<string>();
        foreach (var (userId, mark) in _users)
        {
            if (mark.PendingSince is null)
            {
                highest = Math.Max(highest, mark.Tick);
                resolved.Add(userId);
            }
        }

        foreach (var userId in resolved)
        {
            _users.Remove(userId);
        }

        _floor = Math.Max(_floor, highest);

        if (_users.Count > capacity)
        {
            // Nearly all of them wait for a ping: wait for one for everybody instead.
            _allPendingSince = now;
            _users.Clear();
            _pending.Clear();
        }
    }
}
