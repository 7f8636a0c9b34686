using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    [Fact]
    public async Task A_write_transaction_disposed_without_commit_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();

        await using (var write = await store.BeginWriteAsync(Ct))
        {
            Assert.True(await write.Users.InsertAsync(user, Ct));
            await write.Audit.AppendAsync(NewEvent(AuditActions.UserRegistered, new Actor(ActorKind.User, user.Id), user.Id, T0), Ct);
        }

        Assert.Null(await FindUserAsync(store, user.Id));
        Assert.Empty(await QueryAuditAsync(store, new AuditQuery(null, null, null, null, 10)));
    }

    [Fact]
    public async Task Concurrent_write_transactions_all_succeed_one_after_the_other()
    {
        var store = await CreateStoreAsync();
        var users = Enumerable.Range(0, 20).Select(_ => NewUser()).ToArray();

        await Task.WhenAll(users.Select(user => Task.Run(
            async () =>
            {
                await using var write = await store.BeginWriteAsync(Ct);
                Assert.True(await write.Users.InsertAsync(user, Ct));
                // Hold the transaction open a little so that the others have to wait for it.
                await Task.Delay(2, Ct);
                await write.Audit.AppendAsync(NewEvent(AuditActions.UserRegistered, new Actor(ActorKind.User, user.Id), user.Id, T0), Ct);
                await write.CommitAsync(Ct);
            },
            Ct)));

        foreach (var user in users)
        {
            Assert.Equal(user, await FindUserAsync(store, user.Id));
        }

        var events = await QueryAuditAsync(store, new AuditQuery(null, AuditActions.UserRegistered, null, null, 100));
        Assert.Equal(Sorted(users.Select(u => u.Id)), Sorted(events.Select(e => e.TargetUserId!)));
    }

    [Fact]
    public async Task A_reader_does_not_wait_for_an_open_writer_nor_see_its_uncommitted_changes()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();

        await using var write = await store.BeginWriteAsync(Ct);
        Assert.True(await write.Users.InsertAsync(user, Ct));

        Assert.Null(await FindUserAsync(store, user.Id).WaitAsync(TimeSpan.FromSeconds(2), Ct));

        await write.CommitAsync(Ct);
        Assert.Equal(user, await FindUserAsync(store, user.Id));
    }

    [Fact]
    public async Task A_read_transaction_keeps_one_snapshot_while_others_commit()
    {
        var store = await CreateStoreAsync();
        var before = NewUser();
        var after = NewUser();
        await InsertAsync(store, before);

        await using var read = await store.BeginReadAsync(Ct);
        Assert.Equal(before, await read.Users.FindByIdAsync(before.Id, Ct));

        await InsertAsync(store, after);

        Assert.Null(await read.Users.FindByIdAsync(after.Id, Ct));
        Assert.Equal(1, (await read.Users.SearchAsync(new UserSearch(null, null, 1, 10, T0), Ct)).Total);
        Assert.Equal(after, await FindUserAsync(store, after.Id));
    }

    [Fact]
    public async Task Migrating_an_up_to_date_store_again_keeps_its_data()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);

        await store.MigrateAsync(Ct);

        Assert.True(await store.IsReadyAsync(Ct));
        Assert.Equal(user, await FindUserAsync(store, user.Id));
    }
}
