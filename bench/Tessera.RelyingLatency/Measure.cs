using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace Tessera.RelyingLatency;

/// <summary>
/// One measured revocation. Times in ms from the moment the revoking call returned (negative: before it returned), on
/// this process's Stopwatch; NaN when it never happened.
/// </summary>
internal sealed record Sample(
    int Index, string SessionId, int RevokeStatus, double Revoke, double Close, int? CloseStatus, string? CloseReason,
    double Refusal, int RequestStatus, string? RequestCode, double Open, double Finish)
{
    /// <summary>A request sent after the revoking call returned that the app accepted: the promise broken.</summary>
    public bool Accepted => RequestStatus is >= 200 and < 300;

    /// <summary>The later of the close frame and the refused request: when the app had done both.</summary>
    public double Both => double.IsNaN(Close) || Accepted ? double.NaN : Math.Max(Close, Refusal);
}

internal static class Measure
{
    /// <summary>How long the close frame may take after the call returned before it counts as never.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public static async Task<Sample> OneAsync(Clients clients, string adminToken, int index, Target target, CancellationToken cancellationToken)
    {
        var opened = Stopwatch.GetTimestamp();
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {target.Token}");
        using (var opening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            opening.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(clients.Socket, opening.Token);
            var hello = new byte[16];
            var first = await socket.ReceiveAsync(hello, opening.Token);
            if (first.MessageType != WebSocketMessageType.Text || Encoding.UTF8.GetString(hello, 0, first.Count) != "open")
            {
                throw new InvalidOperationException($"session {target.SessionId}: the app's WebSocket did not say 'open' ({first.MessageType}, {first.CloseStatus} {first.CloseStatusDescription})");
            }
        }

        var open = Stopwatch.GetElapsedTime(opened).TotalMilliseconds;
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var closing = ReceiveCloseAsync(socket, waiting.Token);

        var sent = Stopwatch.GetTimestamp();
        var revoke = await Clients.SendAsync(
            clients.Tessera, HttpMethod.Delete, $"/v1/admin/users/{target.UserId}/sessions/{target.SessionId}", adminToken, null, cancellationToken);
        var returned = Stopwatch.GetTimestamp();
        var request = await Clients.SendAsync(clients.App, HttpMethod.Get, "/authenticated", target.Token, null, cancellationToken);
        var answered = Stopwatch.GetTimestamp();

        waiting.CancelAfter(Patience);
        var (closedAt, status, reason) = await closing;
        if (socket.State == WebSocketState.CloseReceived)
        {
            try
            {
                using var goodbye = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                goodbye.CancelAfter(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, goodbye.Token);
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
            {
                // The app may already have dropped the connection after its close frame.
            }
        }

        return new Sample(
            index, target.SessionId, revoke.Status, Ms(sent, returned), closedAt is { } at ? Ms(returned, at) : double.NaN, status, reason,
            Ms(returned, answered), request.Status, request.Code, open, Ms(returned, Stopwatch.GetTimestamp()));
    }

    private static async Task<(long? At, int? Status, string? Reason)> ReceiveCloseAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[256];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (Stopwatch.GetTimestamp(), (int?)result.CloseStatus, result.CloseStatusDescription);
                }
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
            return (null, null, null);
        }
    }

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
