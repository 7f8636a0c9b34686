using System.Text.Json;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;

namespace Tessera.Storage.Postgres.Internal;

/// <summary>What one payload on the 'tessera_changes' channel asks for (see Migrations/V003__ChangeNotifications.sql).</summary>
internal enum ChangeKind
{
    /// <summary>Not understood: the caller must assume anything may have changed.</summary>
    Unknown,

    /// <summary>One user or one session changed: <see cref="ChangeNotification.Invalidation"/> says which.</summary>
    Row,

    /// <summary>A whole table was emptied (TRUNCATE): drop everything.</summary>
    All,
}

internal static class ChangeNotification
{
    /// <summary>Reads a payload; for <see cref="ChangeKind.Row"/> gives the invalidation it stands for.</summary>
    public static ChangeKind Parse(string? payload, out Invalidation? invalidation)
    {
        invalidation = null;
        if (string.IsNullOrEmpty(payload))
        {
            return ChangeKind.Unknown;
        }

        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ChangeKind.Unknown;
            }

            var table = String(root, "table");
            if (table is not ("users" or "sessions"))
            {
                return ChangeKind.Unknown;
            }

            if (root.TryGetProperty("all", out var all) && all.ValueKind == JsonValueKind.True)
            {
                return ChangeKind.All;
            }

            var userId = String(root, "userId");
            if (userId is null)
            {
                return ChangeKind.Unknown;
            }

            if (table == "users")
            {
                invalidation = new Invalidation(userId, [], Reason: null, UserChanged: true);
                return ChangeKind.Row;
            }

            var sessionId = String(root, "sessionId");
            if (sessionId is null)
            {
                return ChangeKind.Unknown;
            }

            // A reason this version does not know (or none: a deleted row, an expiry moved) is no reason; the session
            // is dropped all the same.
            RevocationReason? reason = RevocationReasons.TryParse(String(root, "reason"), out var parsed) ? parsed : null;
            invalidation = new Invalidation(userId, [sessionId], reason, UserChanged: false);
            return ChangeKind.Row;
        }
        catch (JsonException)
        {
            return ChangeKind.Unknown;
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
