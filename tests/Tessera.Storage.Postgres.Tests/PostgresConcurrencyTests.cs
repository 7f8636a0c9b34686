using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;
using static Tessera.Storage.Specification.TestData;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// Writers on several nodes at once. Each "node" is a store of its own (its own data source and pool) on one database,
/// as the servers of a cluster are.
/// </summary>
public sealed class PostgresConcurrencyTests(PostgresServer server) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _cleanup = [];

    [Fact]
    public async Task Two_nodes_that_read_modify_write_one_user_take_turns_and_the_second_sees_the_first()
    {
        var (nodeA, nodeB) = await TwoNodesAsync();
        var user = NewUser() with { SecurityVersion = 1 };
        await InsertAsync(nodeA, user);

        await using var first = await nodeA.BeginWriteAsync(Ct);
        var readByFirst = await first.Users.FindByIdAsync(user.Id, Ct);

        // The second read-modify-write, as the services do it (find, then update, in one write transaction).
        var second = Task.Run(
            async () =>
            {
                await using var write = await nodeB.BeginWriteAsync(Ct);
                var current = await write.Users.FindByIdAsync(user.Id, Ct);
                await write.Users.UpdateAsync(current! with { SecurityVersion = current.SecurityVersion + 1, DisplayName = "Second" }, Ct);
                await write.CommitAsync(Ct);
                return current;
            },
            Ct);
        await Task.Delay(300, Ct);
        Assert.False(second.IsCompleted, "The second writer read the user while the first one held it.");

        await first.Users.UpdateAsync(readByFirst! with { SecurityVersion = readByFirst.SecurityVersion + 1, Status = UserStatus.Deactivated }, Ct);
        await first.CommitAsync(Ct);
        var readBySecond = await second.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(2, readBySecond!.SecurityVersion);
        Assert.Equal(UserStatus.Deactivated, readBySecond.Status);
        var final = await FindUserAsync(nodeA, user.Id);
        Assert.Equal(3, final!.SecurityVersion);
        Assert.Equal(UserStatus.Deactivated, final.Status);
        Assert.Equal("Second", final.DisplayName);
    }

    [Fact]
    public async Task Many_increments_of_one_users_version_from_two_nodes_lose_none()
    {
        var (nodeA, nodeB) = await TwoNodesAsync();
        var user = NewUser();
        await InsertAsync(nodeA, user);

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(
            async () =>
            {
                await using var write = await (i % 2 == 0 ? nodeA : nodeB).BeginWriteAsync(Ct);
                var current = await write.Users.FindByIdAsync(user.Id, Ct);
                await write.Users.UpdateAsync(current! with { SecurityVersion = current.SecurityVersion + 1 }, Ct);
                await write.CommitAsync(Ct);
            },
            Ct)));

        Assert.Equal(40, (await FindUserAsync(nodeB, user.Id))!.SecurityVersion);
    }

    [Fact]
    public async Task A_reader_does_not_wait_for_a_writer_that_holds_the_user()
    {
        var (nodeA, nodeB) = await TwoNodesAsync();
        var user = NewUser();
        await InsertAsync(nodeA, user);

        await using var write = await nodeA.BeginWriteAsync(Ct);
        var held = await write.Users.FindByIdAsync(user.Id, Ct);
        await write.Users.UpdateAsync(held! with { DisplayName = "Uncommitted" }, Ct);

        var read = await FindUserAsync(nodeB, user.Id).WaitAsync(TimeSpan.FromSeconds(2), Ct);
        Assert.Equal(user, read);
    }

    [Fact]
    public async Task Revocations_and_activity_flushes_from_two_nodes_over_the_same_sessions_all_go_through_and_revoke_each_session_once()
    {
        var (nodeA, nodeB) = await TwoNodesAsync();
        var users = Enumerable.Range(0, 4).Select(_ => NewUser()).ToArray();
        var sessions = users.SelectMany(user => Enumerable.Range(0, 8).Select(_ => NewSession(user.Id))).ToArray();
        foreach (var user in users)
        {
            await InsertAsync(nodeA, user, [.. sessions.Where(s => s.UserId == user.Id)]);
        }

        // Activity flushes name the sessions in every order; revocations end all of a user's sessions at once. (The store
        // locks sessions in id order, so that no two of these can deadlock whatever order PostgreSQL scans rows in.)
        var random = new Random(7);
        var work = new List<Func<Task>>();
        for (var round = 0; round < 6; round++)
        {
            var shuffled = sessions.OrderBy(_ => random.Next()).ToArray();
            var at = T0.AddMinutes(round + 1);
            var (one, other) = round % 2 == 0 ? (nodeA, nodeB) : (nodeB, nodeA);
            work.Add(() => WriteAsync(one, transaction =>
                transaction.Sessions.TouchAsync([.. shuffled.Select(s => new SessionActivity(s.Id, at))], Ct)));
            work.Add(() => WriteAsync(other, transaction =>
                transaction.Sessions.TouchAsync([.. shuffled.Reverse().Select(s => new SessionActivity(s.Id, at.AddSeconds(1)))], Ct)));
        }

        var revoked = new List<string>[users.Length];
        for (var i = 0; i < users.Length; i++)
        {
            var index = i;
            revoked[index] = [];
            work.Add(async () => await WriteAsync(index % 2 == 0 ? nodeA : nodeB, async transaction =>
                revoked[index].AddRange(await transaction.Sessions.RevokeAsync(
                    users[index].Id, RevocationScope.All, new SessionRevocation(T0, "usr_admin", RevocationReason.UserBanned), Ct))));
        }

        await Task.WhenAll(work.OrderBy(_ => random.Next()).Select(w => Task.Run(w, Ct))).WaitAsync(TimeSpan.FromSeconds(60), Ct);

        // Every session was revoked exactly once, and none is touched after its revocation.
        Assert.Equal(sessions.Select(s => s.Id).Order(StringComparer.Ordinal), revoked.SelectMany(ids => ids).Order(StringComparer.Ordinal));
        foreach (var session in sessions)
        {
            var found = await FindSessionAsync(nodeB, session.Id);
            Assert.Equal(RevocationReason.UserBanned, found!.RevokeReason);
        }
    }

    [Fact]
    public async Task Two_resets_of_one_user_with_two_tokens_at_once_let_exactly_one_through_without_a_deadlock()
    {
        var (nodeA, nodeB) = await TwoNodesAsync();
        var user = NewUser();
        await InsertAsync(nodeA, user);
        SecretTokens.Create(out var firstHash);
        SecretTokens.Create(out var secondHash);
        await WriteAsync(nodeA, async transaction =>
        {
            await transaction.PasswordResetTokens.InsertAsync(new PasswordResetToken(firstHash, user.Id, T0, T0.AddHours(1), null), Ct);
            await transaction.PasswordResetTokens.InsertAsync(new PasswordResetToken(secondHash, user.Id, T0, T0.AddHours(1), null), Ct);
        });

        // What PasswordReset.ResetPasswordAsync (Core/Accounts) does in its write transaction.
        async Task<bool> ResetAsync(ITesseraStore node, TokenHash tokenHash, string newHash)
        {
            await using var write = await node.BeginWriteAsync(Ct);
            var reset = await write.PasswordResetTokens.ConsumeAsync(tokenHash, T0, Ct);
            if (reset is null)
            {
                return false;
            }

            var current = await write.Users.FindByIdAsync(reset.UserId, Ct);
            await Task.Delay(100, Ct); // room for the other reset to come in between
            await write.Users.UpdateAsync(current! with { PasswordHash = newHash, SecurityVersion = current.SecurityVersion + 1 }, Ct);
            await write.PasswordResetTokens.InvalidateAllAsync(current.Id, T0, Ct);
            await write.CommitAsync(Ct);
            return true;
        }

        var results = await Task.WhenAll(
            Task.Run(() => ResetAsync(nodeA, firstHash, "first"), Ct),
            Task.Run(() => ResetAsync(nodeB, secondHash, "second"), Ct));

        Assert.Single(results, succeeded => succeeded);
        var final = await FindUserAsync(nodeA, user.Id);
        Assert.Equal(results[0] ? "first" : "second", final!.PasswordHash);
        Assert.Equal(1, final.SecurityVersion);
    }

    [Fact]
    public async Task Two_nodes_registering_one_email_at_once_get_one_yes_and_one_no_and_both_can_commit()
    {
        var (nodeA, nodeB) = await TwoNodesAsync();
        var first = NewUser("same@example.test");
        var second = NewUser("same@example.test");
        var bystander = NewUser();

        await using var writeA = await nodeA.BeginWriteAsync(Ct);
        Assert.True(await writeA.Users.InsertAsync(first, Ct));
        var insertB = Task.Run(
            async () =>
            {
                await using var writeB = await nodeB.BeginWriteAsync(Ct);
                var inserted = await writeB.Users.InsertAsync(second, Ct);
                Assert.True(await writeB.Users.InsertAsync(bystander, Ct));
                await writeB.CommitAsync(Ct);
                return inserted;
            },
            Ct);
        await Task.Delay(200, Ct);
        Assert.False(insertB.IsCompleted, "The second insert of the email did not wait for the first transaction.");
        await writeA.CommitAsync(Ct);

        Assert.False(await insertB.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(first, await ReadAsync(nodeB, transaction => transaction.Users.FindByEmailAsync("same@example.test", Ct)));
        Assert.Equal(bystander, await FindUserAsync(nodeA, bystander.Id));
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }
    }

    private async Task<(PostgresTesseraStore A, PostgresTesseraStore B)> TwoNodesAsync()
    {
        var database = await server.CreateDatabaseAsync();
        _cleanup.Add(database);
        var a = new PostgresTesseraStore(database.ConnectionString);
        var b = new PostgresTesseraStore(database.ConnectionString);
        _cleanup.Add(a);
        _cleanup.Add(b);
        await a.MigrateAsync(Ct);
        return (a, b);
    }
}
