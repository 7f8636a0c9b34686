using Tessera.Core.Audit;
using Tessera.Core.Clients;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    private static int s_clientSequence;

    private static ServiceClient NewClient(DateTimeOffset? createdAt = null, params string[] scopes)
    {
        SecretTokens.Create(out var hash);
        return new ServiceClient
        {
            Id = $"cli_{Interlocked.Increment(ref s_clientSequence):D32}",
            Name = "Billing API",
            Scopes = scopes.Length == 0 ? [ClientScopes.Introspect] : scopes,
            CreatedAt = createdAt ?? T0,
            CreatedBy = "usr_admin",
            SecretHash = hash,
        };
    }

    [Fact]
    public async Task A_session_keeps_the_client_it_was_created_through_and_one_made_directly_has_none()
    {
        var store = await CreateStoreAsync();
        var portal = NewClient(scopes: [ClientScopes.Login]);
        var user = NewUser();
        var throughPortal = NewSession(user.Id) with { ClientId = portal.Id };
        var direct = NewSession(user.Id);
        await WriteAsync(store, transaction => transaction.ServiceClients.InsertAsync(portal, Ct));
        await InsertAsync(store, user, throughPortal, direct);

        await using (var read = await store.BeginReadAsync(Ct))
        {
            Assert.Equal(portal.Id, (await read.Sessions.FindByTokenHashAsync(throughPortal.TokenHash, Ct))?.ClientId);
            Assert.Equal(throughPortal, await read.Sessions.FindByIdAsync(throughPortal.Id, Ct));
            Assert.Equal(direct, await read.Sessions.FindByIdAsync(direct.Id, Ct));
            Assert.Null((await read.Sessions.FindByIdAsync(direct.Id, Ct))!.ClientId);
            var listed = await read.Sessions.ListUnrevokedAsync(user.Id, T0, Ct);
            Assert.Equal(portal.Id, Assert.Single(listed, s => s.Id == throughPortal.Id).ClientId);
        }

        // Revoking keeps it: who the session came through stays on record with how it ended.
        await WriteAsync(store, transaction => transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.Only(throughPortal.Id), new SessionRevocation(T0, portal.Id, RevocationReason.TokenRevoked), Ct));
        Assert.Equal(portal.Id, (await FindSessionAsync(store, throughPortal.Id))!.ClientId);
    }

    [Fact]
    public async Task A_session_cannot_name_a_client_that_does_not_exist()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);

        await using var write = await store.BeginWriteAsync(Ct);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(
            () => write.Sessions.InsertAsync(NewSession(user.Id) with { ClientId = "cli_nobody" }, Ct));
    }

    [Fact]
    public async Task A_service_client_is_read_back_as_it_was_written()
    {
        var store = await CreateStoreAsync();
        var client = NewClient(scopes: [ClientScopes.Introspect, ClientScopes.Revocations, ClientScopes.Revoke]);
        await WriteAsync(store, transaction => transaction.ServiceClients.InsertAsync(client, Ct));

        var read = await ReadAsync(store, transaction => transaction.ServiceClients.FindByIdAsync(client.Id, Ct));

        AssertSameClient(client, read);
        Assert.Null(await ReadAsync(store, transaction => transaction.ServiceClients.FindByIdAsync("cli_unknown", Ct)));
    }

    [Fact]
    public async Task Updating_a_service_client_writes_its_rotation_and_disabling()
    {
        var store = await CreateStoreAsync();
        var client = NewClient();
        await WriteAsync(store, transaction => transaction.ServiceClients.InsertAsync(client, Ct));
        SecretTokens.Create(out var newHash);
        var rotated = client with
        {
            SecretHash = newHash,
            PreviousSecretHash = client.SecretHash,
            PreviousSecretExpiresAt = T0.AddHours(1),
            RotatedAt = T0.AddMinutes(1),
            Scopes = [ClientScopes.Revoke],
        };
        await WriteAsync(store, transaction => transaction.ServiceClients.UpdateAsync(rotated, Ct));
        AssertSameClient(rotated, await ReadAsync(store, transaction => transaction.ServiceClients.FindByIdAsync(client.Id, Ct)));

        var disabled = rotated with { DisabledAt = T0.AddMinutes(2), PreviousSecretHash = null, PreviousSecretExpiresAt = null };
        await WriteAsync(store, transaction => transaction.ServiceClients.UpdateAsync(disabled, Ct));
        var read = await ReadAsync(store, transaction => transaction.ServiceClients.FindByIdAsync(client.Id, Ct));
        AssertSameClient(disabled, read);
        Assert.True(read!.Disabled);
    }

    [Fact]
    public async Task Service_clients_are_listed_oldest_first()
    {
        var store = await CreateStoreAsync();
        var newer = NewClient(T0.AddMinutes(5));
        var older = NewClient(T0);
        await WriteAsync(store, async transaction =>
        {
            await transaction.ServiceClients.InsertAsync(newer, Ct);
            await transaction.ServiceClients.InsertAsync(older, Ct);
        });

        var listed = await ReadAsync(store, transaction => transaction.ServiceClients.ListAsync(Ct));

        Assert.Equal([older.Id, newer.Id], listed.Select(c => c.Id));
    }

    [Fact]
    public async Task A_service_client_written_in_a_transaction_that_rolls_back_is_not_kept()
    {
        var store = await CreateStoreAsync();
        var client = NewClient();
        await using (var write = await store.BeginWriteAsync(Ct))
        {
            await write.ServiceClients.InsertAsync(client, Ct);
        }

        Assert.Empty(await ReadAsync(store, transaction => transaction.ServiceClients.ListAsync(Ct)));
    }

    [Fact]
    public async Task The_audit_log_keeps_a_service_client_as_actor()
    {
        var store = await CreateStoreAsync();
        var auditEvent = NewEvent(AuditActions.SessionRevoked, new Actor(ActorKind.Client, "cli_relying_app"), "usr_someone", T0);
        await AppendAsync(store, auditEvent);

        var events = await QueryAuditAsync(store, new AuditQuery("cli_relying_app", null, null, null, 10));

        AssertSameEvent(auditEvent, Assert.Single(events));
    }

    private static void AssertSameClient(ServiceClient expected, ServiceClient? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Scopes, actual.Scopes);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.CreatedBy, actual.CreatedBy);
        Assert.Equal(expected.SecretHash, actual.SecretHash);
        Assert.Equal(expected.PreviousSecretHash, actual.PreviousSecretHash);
        Assert.Equal(expected.PreviousSecretExpiresAt, actual.PreviousSecretExpiresAt);
        Assert.Equal(expected.RotatedAt, actual.RotatedAt);
        Assert.Equal(expected.DisabledAt, actual.DisabledAt);
    }
}
