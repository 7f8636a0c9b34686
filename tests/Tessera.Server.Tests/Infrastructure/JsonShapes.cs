using System.Globalization;
using System.Text.Json;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>Checks the JSON objects of API.md field by field, as a client that relies on the contract would read them.</summary>
public static class JsonShapes
{
    public static readonly string[] Platforms = ["web", "desktop", "mobile", "cli", "api"];

    /// <summary>An ISO-8601 UTC timestamp ending in Z; returns it parsed.</summary>
    public static DateTimeOffset AssertUtcTimestamp(JsonElement value, string what = "timestamp")
    {
        Assert.True(value.ValueKind == JsonValueKind.String, $"{what} should be a string, was {value.ValueKind}: {value}");
        var text = value.GetString()!;
        Assert.True(text.EndsWith('Z'), $"{what} should be UTC with a Z: {text}");
        Assert.True(
            DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed),
            $"{what} is not ISO-8601: {text}");
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
        return parsed;
    }

    public static string? AssertStringOrNull(JsonElement parent, string name)
    {
        Assert.True(parent.TryGetProperty(name, out var value), $"missing '{name}' in {parent}");
        Assert.True(value.ValueKind is JsonValueKind.String or JsonValueKind.Null, $"'{name}' should be a string or null: {value}");
        return value.ValueKind == JsonValueKind.Null ? null : value.GetString();
    }

    public static string AssertString(JsonElement parent, string name)
    {
        Assert.True(parent.TryGetProperty(name, out var value), $"missing '{name}' in {parent}");
        Assert.True(value.ValueKind == JsonValueKind.String, $"'{name}' should be a string: {value}");
        return value.GetString()!;
    }

    /// <summary>User { id, email, displayName, role, status, bannedUntil, banned, createdAt }.</summary>
    public static void AssertUser(JsonElement user)
    {
        Assert.Equal(JsonValueKind.Object, user.ValueKind);
        Assert.NotEmpty(AssertString(user, "id"));
        AssertString(user, "email");
        AssertString(user, "displayName");
        Assert.Contains(AssertString(user, "role"), new[] { "user", "admin" });
        Assert.Contains(AssertString(user, "status"), new[] { "active", "deactivated", "deleted" });
        Assert.True(user.TryGetProperty("bannedUntil", out var bannedUntil), $"missing 'bannedUntil' in {user}");
        if (bannedUntil.ValueKind != JsonValueKind.Null)
        {
            AssertUtcTimestamp(bannedUntil, "bannedUntil");
        }

        Assert.True(user.TryGetProperty("banned", out var banned), $"missing 'banned' in {user}");
        Assert.True(banned.ValueKind is JsonValueKind.True or JsonValueKind.False, $"'banned' should be a bool: {banned}");
        AssertUtcTimestamp(user.GetProperty("createdAt"), "createdAt");
        Assert.False(user.TryGetProperty("passwordHash", out _), "a User must never carry the password hash");
    }

    /// <summary>Session { id, device: { name, platform, os, browser }, ipAddress, createdAt, lastActiveAt, expiresAt, current, clientId, client }.</summary>
    public static void AssertSession(JsonElement session)
    {
        Assert.Equal(JsonValueKind.Object, session.ValueKind);
        Assert.NotEmpty(AssertString(session, "id"));
        Assert.True(session.TryGetProperty("device", out var device), $"missing 'device' in {session}");
        AssertStringOrNull(device, "name");
        Assert.Contains(AssertString(device, "platform"), Platforms);
        AssertStringOrNull(device, "os");
        AssertStringOrNull(device, "browser");
        AssertStringOrNull(session, "ipAddress");
        var createdAt = AssertUtcTimestamp(session.GetProperty("createdAt"), "createdAt");
        var lastActiveAt = AssertUtcTimestamp(session.GetProperty("lastActiveAt"), "lastActiveAt");
        var expiresAt = AssertUtcTimestamp(session.GetProperty("expiresAt"), "expiresAt");
        Assert.True(lastActiveAt >= createdAt, $"lastActiveAt {lastActiveAt:O} is before createdAt {createdAt:O}");
        Assert.True(expiresAt > lastActiveAt, $"expiresAt {expiresAt:O} is not after lastActiveAt {lastActiveAt:O}");
        Assert.True(session.TryGetProperty("current", out var current), $"missing 'current' in {session}");
        Assert.True(current.ValueKind is JsonValueKind.True or JsonValueKind.False, $"'current' should be a bool: {current}");
        Assert.False(session.TryGetProperty("token", out _), "a Session must never carry its token");
        Assert.False(session.TryGetProperty("tokenHash", out _), "a Session must never carry its token hash");
        var clientId = AssertStringOrNull(session, "clientId");
        var client = AssertStringOrNull(session, "client");
        Assert.True(clientId is not null || client is null, $"'client' without 'clientId' in {session}");
    }

    /// <summary>AuditEvent { id, at, action, actor: { kind, id }, targetUserId, sessionIds, reason, ipAddress }.</summary>
    public static void AssertAuditEvent(JsonElement auditEvent)
    {
        Assert.NotEmpty(AssertString(auditEvent, "id"));
        AssertUtcTimestamp(auditEvent.GetProperty("at"), "at");
        AssertString(auditEvent, "action");
        var actor = auditEvent.GetProperty("actor");
        Assert.Contains(AssertString(actor, "kind"), new[] { "user", "admin", "system", "cli", "client" });
        AssertStringOrNull(actor, "id");
        AssertStringOrNull(auditEvent, "targetUserId");
        Assert.Equal(JsonValueKind.Array, auditEvent.GetProperty("sessionIds").ValueKind);
        Assert.All(auditEvent.GetProperty("sessionIds").EnumerateArray(), id => Assert.Equal(JsonValueKind.String, id.ValueKind));
        AssertStringOrNull(auditEvent, "reason");
        AssertStringOrNull(auditEvent, "ipAddress");
    }

    public static string Id(this JsonElement element) => element.GetProperty("id").GetString()!;

    public static string Str(this JsonElement element, string name) => element.GetProperty(name).GetString()!;

    public static IReadOnlyList<JsonElement> Items(this JsonElement element, string name) => [.. element.GetProperty(name).EnumerateArray()];
}
