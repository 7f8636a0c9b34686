using System.Text.Json;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>Finding a user by id or by email, and reading whether an account can sign in, by the server's own fields.</summary>
internal static class UserLookup
{
    /// <summary>An entry is an email when it has an @; ids are Tessera's opaque "usr_…" strings.</summary>
    public static bool IsEmail(string entry) => entry.Contains('@', StringComparison.Ordinal);

    /// <summary>What a line of a bulk file may hold: an id ("usr_…", no spaces) or an email (one @ with text either side).</summary>
    public static bool LooksValid(string entry)
    {
        if (entry.Any(char.IsWhiteSpace) || entry.Any(char.IsControl))
        {
            return false;
        }

        if (IsEmail(entry))
        {
            var at = entry.IndexOf('@', StringComparison.Ordinal);
            return at > 0 && at < entry.Length - 1 && entry.IndexOf('@', at + 1) < 0;
        }

        return entry.StartsWith("usr_", StringComparison.Ordinal) && entry.Length > 4;
    }

    /// <summary>The user's id, for an id or an email; null when no (undeleted) account has that email.</summary>
    public static async Task<string?> ResolveIdAsync(TesseraApi api, string entry, CancellationToken cancellationToken)
    {
        if (!IsEmail(entry))
        {
            return entry;
        }

        var email = entry.Trim().ToLowerInvariant();
        var answer = await api.GetAsync($"/v1/admin/users?search={Uri.EscapeDataString(email)}&pageSize=200", cancellationToken);
        foreach (var user in answer.Prop("users").EnumerateArray())
        {
            if (string.Equals(user.Str("email"), email, StringComparison.Ordinal))
            {
                return user.Str("id");
            }
        }

        return null;
    }

    /// <summary>GET /v1/admin/users/{id}: {user, activeSessions}, or null when there is no such user.</summary>
    public static async Task<JsonElement?> GetAsync(TesseraApi api, string id, CancellationToken cancellationToken)
    {
        try
        {
            return await api.GetAsync($"/v1/admin/users/{Uri.EscapeDataString(id)}", cancellationToken);
        }
        catch (ApiException exception) when (exception.NotFound)
        {
            return null;
        }
    }

    /// <summary>The user with that id or email, or a "not found" failure (exit 1).</summary>
    public static async Task<JsonElement> RequireAsync(TesseraApi api, string entry, CancellationToken cancellationToken)
    {
        var id = await ResolveIdAsync(api, entry, cancellationToken);
        var found = id is null ? null : await GetAsync(api, id, cancellationToken);
        return found ?? throw new CliException($"No user {entry}.", ExitCodes.Failed, "not_found");
    }

    /// <summary>No ban at all, not even a lapsed timed one, on record.</summary>
    public static bool IsUnbanned(JsonElement user) => !user.Bool("banned") && user.Str("bannedUntil") is null;

    /// <summary>
    /// The sign-in rule as the server states it in the User object: an account signs in when its status is
    /// <c>active</c> and no ban is in force (<c>banned</c> is false: no ban, or a timed ban whose end has passed).
    /// Null when it can; else why not.
    /// </summary>
    public static string? WhyCannotSignIn(JsonElement user) => user.Str("status") switch
    {
        "deleted" => "the account is deleted",
        "deactivated" => "the account is deactivated",
        _ when user.Bool("banned") => user.Str("bannedUntil") is { } until ? $"a ban is in force until {until}" : "a ban is in force (no end)",
        _ => null,
    };
}
