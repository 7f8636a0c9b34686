using System.Globalization;

namespace Tessera.RelyingLatency;

internal sealed record Options(Uri Tessera, Uri App, string AdminEmail, string AdminPassword, int Count, int Warmup, int SessionsPerUser, string? Output)
{
    public const string Usage =
        "usage: Tessera.RelyingLatency --tessera <url> --app <url> --admin-email <email> [--count 1000] [--warmup 50] " +
        "[--sessions-per-user 20] [--out samples.csv]   (admin password in TESSERA_ADMIN_PASSWORD)";

    public static bool TryParse(string[] args, out Options options, out string error)
    {
        options = null!;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                error = $"'{args[i]}' is not '--name value'";
                return false;
            }

            values[args[i][2..]] = args[i + 1];
        }

        string[] known = ["tessera", "app", "admin-email", "count", "warmup", "sessions-per-user", "out"];
        if (values.Keys.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            error = $"unknown option --{unknown}";
            return false;
        }

        if (!TryUri(values, "tessera", out var tessera, out error) || !TryUri(values, "app", out var app, out error))
        {
            return false;
        }

        if (!values.TryGetValue("admin-email", out var email))
        {
            error = "--admin-email is required";
            return false;
        }

        var password = Environment.GetEnvironmentVariable("TESSERA_ADMIN_PASSWORD");
        if (string.IsNullOrEmpty(password))
        {
            error = "set TESSERA_ADMIN_PASSWORD";
            return false;
        }

        if (!TryInt(values, "count", 1000, 1, 100_000, out var count, out error)
            || !TryInt(values, "warmup", 50, 0, 10_000, out var warmup, out error)
            || !TryInt(values, "sessions-per-user", 20, 1, 1_000, out var perUser, out error))
        {
            return false;
        }

        options = new Options(tessera, app, email, password, count, warmup, perUser, values.GetValueOrDefault("out"));
        return true;
    }

    private static bool TryUri(Dictionary<string, string> values, string name, out Uri uri, out string error)
    {
        error = "";
        if (values.TryGetValue(name, out var text) && Uri.TryCreate(text, UriKind.Absolute, out uri!) && uri.Scheme is "http" or "https")
        {
            return true;
        }

        uri = null!;
        error = $"--{name} must be an http(s) address";
        return false;
    }

    private static bool TryInt(Dictionary<string, string> values, string name, int fallback, int min, int max, out int value, out string error)
    {
        error = "";
        value = fallback;
        if (!values.TryGetValue(name, out var text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        error = $"--{name} is {min}..{max}";
        return false;
    }
}
