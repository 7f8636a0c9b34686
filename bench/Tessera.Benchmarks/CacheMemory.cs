using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core;
using Tessera.Core.Caching;
using Tessera.Core.Devices;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Benchmarks;

/// <summary>
/// What a cached session costs in memory (issue 15: under 512 bytes). Fills the node's <see cref="SessionCache"/> with
/// sessions made as a sign-in makes them (<see cref="Session.Begin"/>, devices resolved from real User-Agents, one
/// address per user, five sessions per user, a fresh copy of the user per fill as a store read gives), and reports the
/// managed heap after a full collection, before and after, per session. Then the same for a replica of the layout the
/// cache had before issue 15 (the Session record per entry, maps by token hash and by session id, the whole user), in
/// the same process, for a before/after in one run.
/// <code>dotnet run -c Release --project bench/Tessera.Benchmarks -- memory [sessions]</code>
/// </summary>
public static class CacheMemory
{
    private const int SessionsPerUser = 5;

    private static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Tessera.Cli/1.0",
    ];

    public static void Run(int sessions)
    {
        using var provider = new ServiceCollection().AddTesseraCore().BuildServiceProvider();
        var resolver = provider.GetRequiredService<DeviceResolver>();
        var devices = UserAgents.Select(ua => resolver.Resolve(null, ua)).ToArray();
        var now = TimeProvider.System.GetUtcNow();

        Console.WriteLine($"Filling {sessions:N0} sessions ({sessions / SessionsPerUser:N0} users x {SessionsPerUser}); managed heap after a full GC, and the process working set.");
        Console.WriteLine("| layout | sessions | heap before (MB) | heap after (MB) | bytes per session | working set after (MB) | fill time (s) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");

        Measure("SessionCache (issue 15)", sessions, () =>
        {
            var cache = new SessionCache(capacity: sessions);
            Fill(sessions, devices, now, (key, _, session, user) => cache.Add(key, session, user, now, cache.Epoch));
            return cache.Count == sessions ? cache : throw new InvalidOperationException($"Only {cache.Count} sessions were kept.");
        });

        Measure("replica of the layout before", sessions, () =>
        {
            var old = new LayoutBefore();
            Fill(sessions, devices, now, (_, hash, session, user) => old.Add(hash, session, user, now));
            return old;
        });
    }

    private static void Measure(string name, int sessions, Func<object> fill)
    {
        var before = Heap();
        var watch = Stopwatch.StartNew();
        var filled = fill();
        var took = watch.Elapsed;
        var after = Heap();
        var workingSet = Environment.WorkingSet;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {sessions:N0} | {before / 1e6:F1} | {after / 1e6:F1} | {(after - before) / (double)sessions:F0} | {workingSet / 1e6:F0} | {took.TotalSeconds:F1} |"));
        GC.KeepAlive(filled);
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Fill(int sessions, DeviceInfo[] devices, DateTimeOffset now, Action<TokenKey, TokenHash, Session, User> add)
    {
        var random = new Random(15);
        var clock = TimeProvider.System;
        Span<byte> passwordHash = stackalloc byte[61];
        for (var made = 0; made < sessions;)
        {
            // As a registration writes it: an Identity V3 hash is 61 bytes in base64 (84 characters).
            random.NextBytes(passwordHash);
            var user = new User
            {
                Id = Ids.NewUserId(clock),
                Email = $"user{made / SessionsPerUser}@example.com",
                DisplayName = $"User {made / SessionsPerUser}",
                PasswordHash = Convert.ToBase64String(passwordHash),
                SecurityVersion = 1,
                CreatedAt = now,
                UpdatedAt = now,
            };
            var ip = $"{random.Next(1, 224)}.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}";
            for (var s = 0; s < SessionsPerUser && made < sessions; s++, made++)
            {
                var (session, token) = Session.Begin(user.Id, devices[random.Next(devices.Length)], ip, null, now, TimeSpan.FromDays(30), clock);

                // Each miss reads the session and its user from the store: new strings and records every time.
                var read = session with { Id = new string(session.Id), UserId = new string(user.Id), IpAddress = new string(ip) };
                var userRead = user with { Id = new string(user.Id), Email = new string(user.Email), DisplayName = new string(user.DisplayName) };
                if (!SecretTokens.TryKey(token, out var key))
                {
                    throw new InvalidOperationException("A new token does not decode.");
                }

                add(key, session.TokenHash, read, userRead);
            }
        }
    }

    /// <summary>What the cache held per session before issue 15, for the comparison (fills only; no invalidations).</summary>
    private sealed class LayoutBefore
    {
        private readonly ConcurrentDictionary<TokenHash, Entry> _byTokenHash = new();
        private readonly ConcurrentDictionary<string, Entry> _bySessionId = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, UserEntry> _users = new(StringComparer.Ordinal);

        public void Add(TokenHash hash, Session session, User user, DateTimeOffset lastActiveAt)
        {
            var cachedUser = _users.TryGetValue(user.Id, out var existing) && existing.User.SecurityVersion == user.SecurityVersion ? existing : new UserEntry(user);
            _users[user.Id] = cachedUser;
            var entry = new Entry(session, cachedUser, lastActiveAt.UtcTicks);
            _byTokenHash[hash] = entry;
            _bySessionId[session.Id] = entry;
        }

        private sealed class UserEntry(User user)
        {
            public User User { get; } = user;

            public bool Stale { get; set; }
        }

        private sealed class Entry(Session session, UserEntry user, long lastActiveTicks)
        {
            public Session Session { get; } = session;

            public UserEntry User { get; } = user;

            public long LastActiveTicks = lastActiveTicks;

            public bool Stale { get; set; }
        }
    }
}
