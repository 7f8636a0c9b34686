using Tessera.Testing;
using System.Net.Http.Headers;
using System.Text;
using Xunit;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A three-node cluster with the sample Portal following node A (its Authority) through a <see cref="RelyingAppProxy"/>,
/// as a service client with the scopes introspect, revocations and login made by the bootstrap admin. One per test
/// class: each fault test heals what it broke.
/// </summary>
public sealed class PortalOnCluster : IAsyncLifetime
{
    public TesseraCluster Cluster { get; } = new();

    /// <summary>Between the Portal and node A: every call the Portal makes to Tessera passes it.</summary>
    public RelyingAppProxy Proxy { get; private set; } = null!;

    public SamplePortalProcess Portal { get; private set; } = null!;

    public string ClientId { get; private set; } = string.Empty;

    public string ClientSecret { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        await Cluster.InitializeAsync();
        (ClientId, ClientSecret) = await CreateClientAsync(Cluster, "Portal", "introspect", "revocations", "login");
        Proxy = new RelyingAppProxy(Cluster.A.Port);
        Portal = await SamplePortalProcess.StartAsync(Proxy.Authority, ClientId, ClientSecret, ChildProcesses.Track);
    }

    /// <summary>A service client made by the admin on node A; its id and its secret.</summary>
    public static async Task<(string Id, string Secret)> CreateClientAsync(TesseraCluster cluster, string name, params string[] scopes)
    {
        var created = await cluster.A.PostAsync("/v1/admin/clients", new { name, scopes }, cluster.Admin.Token);
        Assert.True(created.Status == 201, $"creating the client {name}: {created}");
        return (created.Json.GetProperty("client").GetProperty("id").GetString()!, created.Json.GetProperty("secret").GetString()!);
    }

    /// <summary>HTTP Basic for a service client (client_secret_basic: each part form-encoded).</summary>
    public static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));

    public async ValueTask DisposeAsync()
    {
        if (Portal is not null)
        {
            await Portal.DisposeAsync();
        }

        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }
}
