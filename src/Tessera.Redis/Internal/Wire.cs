using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;

namespace Tessera.Redis.Internal;

/// <summary>An invalidation as it travels on <c>tessera:invalidations</c>, inside the envelope that Redis numbers.</summary>
internal sealed record InvalidationMessage(
    string Id, string Origin, string? UserId, IReadOnlyList<string> SessionIds, string? Reason, bool UserChanged, string? ClientId = null);

/// <summary>
/// "Node <see cref="Node"/> has applied invalidation <see cref="Id"/>", sent to the origin's ack channel; or its answer
/// to round <see cref="Id"/>. <see cref="AppsConfirmed"/> (an invalidation's only) adds "and my relying apps were
/// confirmed then": what its answer to a round would say, so the origin need not ask it (a node that predates the
/// field sends none, and is asked).
/// </summary>
internal sealed record AckMessage(string Id, string Node, bool AppsConfirmed = false);

/// <summary>
/// "Node <see cref="Origin"/> asks: confirm that your relying apps have every invalidation numbered up to this round's
/// sequence", on <c>tessera:rounds</c> inside the envelope; answered with an <see cref="AckMessage"/> of the same id.
/// </summary>
internal sealed record RoundMessage(string Id, string Origin);

/// <summary>A relying app's acknowledgement (<c>POST /v1/revocations/ack</c>) passed to the node that holds the stream.</summary>
internal sealed record AppAckMessage(string Stream, string Client, long Through);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(InvalidationMessage))]
[JsonSerializable(typeof(AckMessage))]
[JsonSerializable(typeof(RoundMessage))]
[JsonSerializable(typeof(AppAckMessage))]
internal sealed partial class WireJsonContext : JsonSerializerContext;

/// <summary>
/// The bus's wire format. A message is <c>&lt;incarnation&gt;|&lt;sequence&gt;|&lt;payload&gt;</c>: the publish and ping scripts
/// put the first two parts in front of what the node sent, so that the number and the PUBLISH are one atomic step.
/// </summary>
internal static class Wire
{
    public static string Serialize(Invalidation invalidation, string id, string origin) =>
        JsonSerializer.Serialize(
            new InvalidationMessage(
                id, origin, invalidation.UserId, invalidation.SessionIds, invalidation.Reason?.ToWireName(), invalidation.UserChanged, invalidation.ClientId),
            WireJsonContext.Default.InvalidationMessage);

    public static string Serialize(AckMessage ack) => JsonSerializer.Serialize(ack, WireJsonContext.Default.AckMessage);

    public static bool TryParseEnvelope(string? raw, [NotNullWhen(true)] out string? incarnation, out long sequence, [NotNullWhen(true)] out string? payload)
    {
        incarnation = null;
        payload = null;
        sequence = 0;
        if (raw is null)
        {
            return false;
        }

        var first = raw.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : raw.IndexOf('|', first + 1);
        if (first <= 0 || second < 0
            || !long.TryParse(raw.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out sequence))
        {
            return false;
        }

        incarnation = raw[..first];
        payload = raw[(second + 1)..];
        return true;
    }

    /// <summary>A ping's payload after the envelope: <c>&lt;tick&gt;|&lt;sent-at ticks&gt;</c>.</summary>
    public static bool TryParsePing(string payload, out long tick, out long sentTicks)
    {
        var bar = payload.IndexOf('|', StringComparison.Ordinal);
        sentTicks = 0;
        tick = 0;
        return bar > 0
            && long.TryParse(payload.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out tick)
            && long.TryParse(payload.AsSpan(bar + 1), NumberStyles.None, CultureInfo.InvariantCulture, out sentTicks);
    }

    public static InvalidationMessage? TryReadInvalidation(string payload)
    {
        try
        {
            var message = JsonSerializer.Deserialize(payload, WireJsonContext.Default.InvalidationMessage);
            // A message names a user, a service client, or both; one that names neither cannot be applied.
            return message is { Id: not null, Origin: not null, SessionIds: not null } && (message.UserId is not null || message.ClientId is not null)
                ? message
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Serialize(RoundMessage round) => JsonSerializer.Serialize(round, WireJsonContext.Default.RoundMessage);

    public static string Serialize(AppAckMessage ack) => JsonSerializer.Serialize(ack, WireJsonContext.Default.AppAckMessage);

    public static RoundMessage? TryReadRound(string payload)
    {
        try
        {
            var round = JsonSerializer.Deserialize(payload, WireJsonContext.Default.RoundMessage);
            return round is { Id: not null, Origin: not null } ? round : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static AppAckMessage? TryReadAppAck(string? payload)
    {
        if (payload is null)
        {
            return null;
        }

        try
        {
            var ack = JsonSerializer.Deserialize(payload, WireJsonContext.Default.AppAckMessage);
            // Without the client (a node of an older version) it cannot be checked: dropped, as if lost; the stream's
            // next acknowledgement, or its lease running out, releases whatever waits on it.
            return ack is { Stream: not null, Client: not null } ? ack : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static AckMessage? TryReadAck(string? payload)
    {
        if (payload is null)
        {
            return null;
        }

        try
        {
            var ack = JsonSerializer.Deserialize(payload, WireJsonContext.Default.AckMessage);
            return ack is { Id: not null, Node: not null } ? ack : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The invalidation a message carries. A reason this version does not know is dropped, not the message.</summary>
    public static Invalidation ToInvalidation(InvalidationMessage message) =>
        new(
            message.UserId,
            message.SessionIds,
            RevocationReasons.TryParse(message.Reason, out var reason) ? reason : null,
            message.UserChanged)
        {
            ClientId = message.ClientId,
        };
}
