using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Tessera.RevocationLatency;

/// <summary>How a revoke is made: by the user from another of their sessions, or by an admin.</summary>
internal enum RevokePath
{
    /// <summary><c>DELETE /v1/sessions/{id}</c> with a second session of the same user (reason <c>revoked_by_user</c>).</summary>
    User,

    /// <summary><c>DELETE /v1/admin/users/{userId}/sessions/{id}</c> with the admin's session (<c>revoked_by_admin</c>).</summary>
    Admin,

    /// <summary>
    /// Not through Tessera: a separate <c>sqlite3</c> process deactivates the user in the database file
    /// (<c>UPDATE users SET status = 'deactivated'</c>), as an operator's console would (issue 9).
    /// </summary>
    Sqlite3,

    /// <summary>The same through a separate <c>psql</c> process on the PostgreSQL database (issue 9's comparison).</summary>
    Psql,
}

/// <summary>The few flags of the tool. Parsed by hand: the repository has no command-line package, and this needs none.</summary>
internal sealed record BenchOptions(
    Uri A, Uri B, Uri C, string AdminEmail, string AdminPassword, int Count, int Warmup, int SessionsPerUser, RevokePath Via, string Output, TimeSpan PollPause,
    string? Database = null)
{
    /// <summary>True when the change is written into the database by another process instead of asked of Tessera.</summary>
    public bool External => Via is RevokePath.Sqlite3 or RevokePath.Psql;

    public const string Usage =
        "usage: Tessera.RevocationLatency --a URL --b URL --c URL --admin-email EMAIL [--admin-password P | env TESSERA_ADMIN_PASSWORD]\n" +
        "       [--count 1000] [--warmup 50] [--sessions-per-user 50] [--via user|admin|sqlite3|psql] [--database FILE|CONNINFO]\n" +
        "       [--out revocations.csv] [--poll-pause-us 0]\n" +
        "  --via sqlite3 needs --database with the server's SQLite file, --via psql a libpq connection string; both deactivate\n" +
        "  one user per measured change, so every target is a user of its own (--sessions-per-user is 1).";

    public static bool TryParse(string[] args, [NotNullWhen(true)] out BenchOptions? options, [NotNullWhen(false)] out string? error)
    {
        options = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] known = ["--a", "--b", "--c", "--admin-email", "--admin-password", "--count", "--warmup", "--sessions-per-user", "--via", "--out", "--poll-pause-us", "--database"];
        for (var i = 0; i < args.Length; i++)
        {
            if (!known.Contains(args[i]))
            {
                error = $"unknown argument '{args[i]}'";
                return false;
            }

            if (i + 1 >= args.Length)
            {
                error = $"{args[i]} needs a value";
                return false;
            }

            values[args[i]] = args[++i];
        }

        Uri? a = null, b = null, c = null;
        if (!TryUrl(values, "--a", ref a, out error) || !TryUrl(values, "--b", ref b, out error) || !TryUrl(values, "--c", ref c, out error))
        {
            return false;
        }

        if (!values.TryGetValue("--admin-email", out var email) || email.Length == 0)
        {
            error = "--admin-email is required";
            return false;
        }

        var password = values.GetValueOrDefault("--admin-password") ?? Environment.GetEnvironmentVariable("TESSERA_ADMIN_PASSWORD");
        if (string.IsNullOrEmpty(password))
        {
            error = "the admin password is required (TESSERA_ADMIN_PASSWORD or --admin-password)";
            return false;
        }

        if (!TryCount(values, "--count", 1000, 1, 1_000_000, out var count, out error)
            || !TryCount(values, "--warmup", 50, 0, 100_000, out var warmup, out error)
            || !TryCount(values, "--sessions-per-user", 50, 1, 10_000, out var perUser, out error)
            || !TryCount(values, "--poll-pause-us", 0, 0, 1_000_000, out var pause, out error))
        {
            return false;
        }

        RevokePath via;
        switch (values.GetValueOrDefault("--via", "user"))
        {
            case "user":
                via = RevokePath.User;
                break;
            case "admin":
                via = RevokePath.Admin;
                break;
            case "sqlite3":
                via = RevokePath.Sqlite3;
                break;
            case "psql":
                via = RevokePath.Psql;
                break;
            case var other:
                error = $"--via is 'user', 'admin', 'sqlite3' or 'psql', not '{other}'";
                return false;
        }

        var database = values.GetValueOrDefault("--database");
        if (via is RevokePath.Sqlite3 or RevokePath.Psql)
        {
            if (string.IsNullOrEmpty(database))
            {
                error = "--via sqlite3 and --via psql need --database";
                return false;
            }

            perUser = 1;
        }

        options = new BenchOptions(a!, b!, c!, email, password, count, warmup, perUser, via, values.GetValueOrDefault("--out", "revocations.csv"),
            TimeSpan.FromMicroseconds(pause), database);
        error = null;
        return true;
    }

    private static bool TryUrl(Dictionary<string, string> values, string name, ref Uri? url, [NotNullWhen(false)] out string? error)
    {
        if (!values.TryGetValue(name, out var text) || !Uri.TryCreate(text, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
        {
            error = $"{name} must be the base URL of a node (http://127.0.0.1:PORT)";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryCount(
        Dictionary<string, string> values, string name, int fallback, int min, int max, out int value, [NotNullWhen(false)] out string? error)
    {
        value = fallback;
        if (values.TryGetValue(name, out var text)
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < min || value > max))
        {
            error = $"{name} is a whole number in {min}..{max}, not '{text}'";
            return false;
        }

        error = null;
        return true;
    }
}
