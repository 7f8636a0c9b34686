using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core;
using Tessera.Core.Devices;
using Tessera.Core.Options;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Tessera.Storage.Relational.Internal;

// Fills a Tessera store with signed-in users for the scale benchmark (bench/scale/run.sh): the rows are made by the
// store's own code (ITesseraStore, its migrations) from the records a registration and a sign-in make (User,
// Session.Begin, DeviceResolver), so they are what the server writes, minus the audit events. Thousands of rows per
// transaction instead of one sign-in per request, and on PostgreSQL a thousand of the store's own INSERTs per round
// trip (an NpgsqlBatch): a million sessions in minutes rather than hours of logins.
//
//   dotnet Tessera.ScaleSeed.dll --data DIR | --postgres CONNECTION
//       [--users 200000] [--sessions 5] [--big-users 3] [--big-sessions 1000] --out DIR
//
// Writes DIR/tokens.txt (every token of the ordinary users, one per line, a user's sessions together),
// DIR/user-ids.txt (the ordinary users' ids in the same order: user n has the tokens of lines n x sessions + 1 onwards)
// and DIR/big-tokens.txt (one token of each big user, whose sessions are there to be revoked all at once). Also one
// admin, admin@scale.example, with no session: the benchmark signs in as it to use the admin routes (every seeded user's
// password is "scale benchmark password").
var settings = Args.Parse(args);
var services = new ServiceCollection();
services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
services.AddTesseraCore();
if (settings.Postgres is { } connection)
{
    services.AddTesseraPostgresStore(connection);
}
else
{
    services.AddTesseraSqliteStore(options => options.DataDirectory = settings.Data!);
}

await using var provider = services.BuildServiceProvider();
var store = provider.GetRequiredService<ITesseraStore>();
await store.MigrateAsync(CancellationToken.None);

var clock = TimeProvider.System;
var now = clock.GetUtcNow();
var lifetime = provider.GetRequiredService<IOptions<TesseraOptions>>().Value.Sessions.AbsoluteLifetime;
var passwordHash = provider.GetRequiredService<IPasswordHasher>().Hash("scale benchmark password"); // the real cost of one hash, shared
var resolver = provider.GetRequiredService<DeviceResolver>();
string[] userAgents =
[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];
var devices = userAgents.Select(ua => resolver.Resolve(null, ua)).ToArray();
var random = new Random(15);

Directory.CreateDirectory(settings.Out);
await using (var transaction = await store.BeginWriteAsync(CancellationToken.None))
{
    var admin = new User
    {
        Id = Ids.NewUserId(clock),
        Email = "admin@scale.example",
        DisplayName = "Scale admin",
        PasswordHash = passwordHash,
        Role = UserRole.Admin,
        SecurityVersion = 1,
        CreatedAt = now,
        UpdatedAt = now,
    };
    if (!await transaction.Users.InsertAsync(admin, CancellationToken.None))
    {
        throw new InvalidOperationException($"{admin.Email} exists already: seed an empty store.");
    }

    await transaction.CommitAsync(CancellationToken.None);
}

var watch = Stopwatch.StartNew();
await using (var tokens = new StreamWriter(Path.Combine(settings.Out, "tokens.txt")))
await using (var userIds = new StreamWriter(Path.Combine(settings.Out, "user-ids.txt")))
{
    await SeedAsync(settings.Users, settings.Sessions, "user", tokens, everyToken: true, userIds);
}

var ordinary = watch.Elapsed;
await using (var big = new StreamWriter(Path.Combine(settings.Out, "big-tokens.txt")))
{
    await SeedAsync(settings.BigUsers, settings.BigSessions, "big", big, everyToken: false);
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"seeded {settings.Users:N0} users x {settings.Sessions} sessions in {ordinary.TotalSeconds:F1} s ({settings.Users * settings.Sessions / ordinary.TotalSeconds:N0} sessions/s), then {settings.BigUsers} users x {settings.BigSessions:N0} sessions; total {watch.Elapsed.TotalSeconds:F1} s"));
return 0;

async Task SeedAsync(int users, int sessionsPerUser, string prefix, StreamWriter tokens, bool everyToken, StreamWriter? userIds = null)
{
    // A transaction's rows, users first (the sessions refer to them): 20,000 sessions a commit on both stores, and on
    // PostgreSQL 1,000 statements a round trip (the store's InsertManyAsync; SQLite, in the process, runs them one by
    // one through InsertAsync, as before).
    const int SessionsPerTransaction = 20_000;
    const int StatementsPerRoundTrip = 1_000;
    var made = 0;
    var batchUsers = new List<User>();
    var batchSessions = new List<Session>();
    while (made < users)
    {
        batchUsers.Clear();
        batchSessions.Clear();
        for (var inBatch = 0; inBatch < SessionsPerTransaction && made < users; inBatch += sessionsPerUser, made++)
        {
            var user = new User
            {
                Id = Ids.NewUserId(clock),
                Email = $"{prefix}{made}@scale.example",
                DisplayName = $"Scale {prefix} {made}",
                PasswordHash = passwordHash,
                SecurityVersion = 1,
                CreatedAt = now,
                UpdatedAt = now,
            };
            batchUsers.Add(user);
            if (userIds is not null)
            {
                await userIds.WriteLineAsync(user.Id);
            }

            var ip = $"{random.Next(1, 224)}.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}";
            for (var s = 0; s < sessionsPerUser; s++)
            {
                var (session, token) = Session.Begin(user.Id, devices[random.Next(devices.Length)], ip, null, now, lifetime, clock);
                batchSessions.Add(session);
                if (everyToken || s == 0)
                {
                    await tokens.WriteLineAsync(token);
                }
            }
        }

        await using var transaction = await store.BeginWriteAsync(CancellationToken.None);
        // The stores' own statements (InternalsVisibleTo): the users' and sessions' stores of every relational store.
        var inserted = await ((RelationalUserStore)transaction.Users).InsertManyAsync(batchUsers, StatementsPerRoundTrip, CancellationToken.None);
        if (Array.IndexOf(inserted, false) is var taken and >= 0)
        {
            throw new InvalidOperationException($"{batchUsers[taken].Email} exists already: seed an empty store.");
        }

        await ((RelationalSessionStore)transaction.Sessions).InsertManyAsync(batchSessions, StatementsPerRoundTrip, CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
    }
}

internal sealed record Args(string? Data, string? Postgres, int Users, int Sessions, int BigUsers, int BigSessions, string Out)
{
    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i]] = args[i + 1];
        }

        int Number(string name, int fallback) => values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
        var data = values.GetValueOrDefault("--data");
        var postgres = values.GetValueOrDefault("--postgres");
        if ((data is null) == (postgres is null) || !values.TryGetValue("--out", out var output))
        {
            throw new ArgumentException("usage: --data DIR | --postgres CONNECTION, --out DIR [--users N] [--sessions N] [--big-users N] [--big-sessions N]");
        }

        return new Args(data, postgres, Number("--users", 200_000), Number("--sessions", 5), Number("--big-users", 3), Number("--big-sessions", 1000), output);
    }
}
