using Tessera.Core.Clients;

namespace Tessera.Server.Revocations;

/// <summary>
/// Reads the service clients behind the open revocation streams again every <see cref="Interval"/>, and ends the stream of
/// a client that was disabled (on another node, or in the database), lost the scope, or whose secret is no longer accepted
/// (the previous secret's overlap after a rotation ended). A disable made on this node ends its streams at once
/// (<see cref="RevocationStreams.ClientDisabled"/>); this is how every other node follows within a second. At start it
/// also tells <see cref="RevocationStreams"/> whether any client may follow the stream at all.
/// </summary>
internal sealed partial class RevocationClientWatch(
    ServiceClients clients, RevocationStreams streams, TimeProvider clock, ILogger<RevocationClientWatch> logger) : BackgroundService
{
    /// <summary>The contract says a disable holds on every node within a second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ReadStartupClientsAsync(stoppingToken).ConfigureAwait(false);
        using var timer = new PeriodicTimer(Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (!streams.Open.Any())
            {
                continue;
            }

            try
            {
                await CheckAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The store may be away for a moment; the next tick reads again.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                LogCheckFailed(logger, exception);
            }
        }
    }

    private async Task ReadStartupClientsAsync(CancellationToken stoppingToken)
    {
        try
        {
            var all = await clients.ListAsync(stoppingToken).ConfigureAwait(false);
            streams.StartupClientsRead(all.Any(client => client.HasScope(ClientScopes.Revocations)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // Not knowing, the start-up lease is waited out.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            LogCheckFailed(logger, exception);
            streams.StartupClientsRead(true);
        }
    }

    private async Task CheckAsync(CancellationToken stoppingToken)
    {
        var byId = (await clients.ListAsync(stoppingToken).ConfigureAwait(false)).ToDictionary(client => client.Id, StringComparer.Ordinal);
        var now = clock.GetUtcNow();
        foreach (var stream in streams.Open)
        {
            var code = byId.GetValueOrDefault(stream.ClientId) switch
            {
                null => "invalid_client",
                { Disabled: true } => "client_disabled",
                var client when !client.HasScope(ClientScopes.Revocations) => "insufficient_scope",
                var client when !ServiceClients.Accepts(client, stream.SecretHash, now) => "invalid_client",
                _ => null,
            };
            if (code is not null)
            {
                stream.Close(code);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The service clients behind the revocation streams could not be read; trying again.")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
