using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Tessera.DataProtection.Postgres;

/// <summary>
/// With the key ring in the shared database, nodes resolve it one at a time at start-up (the key manager reads the
/// ring and makes a first key if there is none): nodes started together on a new database then make one key between
/// them, instead of one each. A node that had missed another's first key would refuse that node's forms for up to a
/// day, until its next refresh of the ring.
/// </summary>
/// <remarks>
/// Done as the host starts (<see cref="StartingAsync"/>, ahead of every hosted service's start, the web server's
/// included), so that no form is protected before the ring is resolved; the table comes with the store's migrations,
/// which the server runs before it starts the host.
/// </remarks>
internal sealed class SharedKeyRingStartup(
    PostgresXmlRepository repository, IOptions<KeyManagementOptions> keyManagement, IDataProtectionProvider protection) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        // Only when the key manager keeps its keys here: a configuration made after ours may have chosen another place.
        if (keyManagement.Value.XmlRepository == repository)
        {
            var protector = protection.CreateProtector("Tessera.KeyRing.Startup");
            await repository.RunExclusiveAsync(() => protector.Protect([0]), cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
