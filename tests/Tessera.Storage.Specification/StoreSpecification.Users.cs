using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    [Fact]
    public async Task A_migrated_store_is_ready()
    {
        var store = await CreateStoreAsync();

        Assert.True(await store.IsReadyAsync(Ct));
    }

    [Fact]
    public async Task An_inserted_user_is_found_by_id_and_by_email()
    {
        var store = await CreateStoreAsync();
        var user = NewUser("ada@example.test", "Ada Lovelace");

        await InsertAsync(store, user);

        await using var read = await store.BeginReadAsync(Ct);
        Assert.Equal(user, await read.Users.FindByIdAsync(user.Id, Ct));
        Assert.Equal(user, await read.Users.FindByEmailAsync("ada@example.test", Ct));
    }

    [Fact]
    public async Task Users_are_found_many_at_once_by_id_in_id_order_leaving_out_unknown_ids()
    {
        var store = await CreateStoreAsync();
        var users = Enumerable.Range(0, 5).Select(_ => NewUser()).ToArray();
        await InsertAsync(store, users);
        var asked = new[] { users[3].Id, "usr_nobody", users[0].Id, users[4].Id, users[0].Id };

        var found = await ReadAsync(store, transaction => transaction.Users.FindByIdsAsync(asked, Ct));
        IReadOnlyList<User> foundToChange = [];
        await WriteAsync(store, async transaction => foundToChange = await transaction.Users.FindByIdsAsync(asked, Ct));

        var expected = new[] { users[0], users[3], users[4] }.OrderBy(u => u.Id, StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, found);
        Assert.Equal(expected, foundToChange);
        Assert.Empty(await ReadAsync(store, transaction => transaction.Users.FindByIdsAsync([], Ct)));
    }

    [Fact]
    public async Task An_unknown_user_is_not_found()
    {
        var store = await CreateStoreAsync();
        await InsertAsync(store, NewUser());

        await using var read = await store.BeginReadAsync(Ct);
        Assert.Null(await read.Users.FindByIdAsync("usr_unknown", Ct));
        Assert.Null(await read.Users.FindByEmailAsync("nobody@example.test", Ct));
    }

    [Fact]
    public async Task Inserting_a_user_whose_email_is_taken_returns_false_and_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var first = NewUser("taken@example.test", "First");
        var second = NewUser("taken@example.test", "Second");
        var third = NewUser("free@example.test", "Third");
        await InsertAsync(store, first);

        await using (var write = await store.BeginWriteAsync(Ct))
        {
            Assert.False(await write.Users.InsertAsync(second, Ct));

            // The refusal does not spoil the transaction: the caller can go on and commit the rest.
            Assert.True(await write.Users.InsertAsync(third, Ct));
            await write.CommitAsync(Ct);
        }

        await using var read = await store.BeginReadAsync(Ct);
        Assert.Null(await read.Users.FindByIdAsync(second.Id, Ct));
        Assert.Equal(first, await read.Users.FindByEmailAsync("taken@example.test", Ct));
        Assert.Equal(third, await read.Users.FindByIdAsync(third.Id, Ct));
    }

    [Fact]
    public async Task Updating_a_user_writes_every_field()
    {
        var store = await CreateStoreAsync();
        var user = NewUser("grace@example.test", "Grace");
        await InsertAsync(store, user);
        var changed = user with
        {
            Email = "grace.hopper@example.test",
            DisplayName = "Grace Hopper",
            PasswordHash = "AQAAAAIAAYagAAAAEnew",
            Role = UserRole.Admin,
            Status = UserStatus.Deactivated,
            Banned = true,
            BannedUntil = T0.AddDays(7),
            BanReason = "Sent spam to every user",
            SecurityVersion = 42,
            CreatedAt = T0.AddDays(-3),
            UpdatedAt = T0.AddHours(1),
        };

        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(changed, Ct));

        Assert.Equal(changed, await FindUserAsync(store, user.Id));
        Assert.Null(await ReadAsync(store, transaction => transaction.Users.FindByEmailAsync("grace@example.test", Ct)));
    }

    [Fact]
    public async Task Any_admin_is_known_once_one_was_made_whatever_became_of_it()
    {
        var store = await CreateStoreAsync();
        Assert.False(await ReadAsync(store, transaction => transaction.Users.AnyAdminAsync(Ct)));
        await InsertAsync(store, NewUser());
        Assert.False(await ReadAsync(store, transaction => transaction.Users.AnyAdminAsync(Ct)));

        var admin = NewUser() with { Role = UserRole.Admin };
        await InsertAsync(store, admin);
        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(admin with { Status = UserStatus.Deleted, PasswordHash = null }, Ct));

        Assert.True(await ReadAsync(store, transaction => transaction.Users.AnyAdminAsync(Ct)));
    }

    [Fact]
    public async Task Two_writers_that_ask_for_an_admin_take_turns_so_only_the_first_sees_none()
    {
        var store = await CreateStoreAsync();
        var first = await store.BeginWriteAsync(Ct);
        Task<bool> second;
        try
        {
            Assert.False(await first.Users.AnyAdminAsync(Ct));
            second = Task.Run(async () =>
            {
                await using var transaction = await store.BeginWriteAsync(Ct);
                return await transaction.Users.AnyAdminAsync(Ct);
            }, Ct);

            // Whether the second writer asks now or after the commit, it must not hear "none".
            await Task.Delay(200, Ct);
            Assert.True(await first.Users.InsertAsync(NewUser() with { Role = UserRole.Admin }, Ct));
            await first.CommitAsync(Ct);
        }
        finally
        {
            await first.DisposeAsync();
        }

        Assert.True(await second);
    }

    [Fact]
    public async Task A_ban_without_an_end_round_trips_and_so_does_lifting_it()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var banned = user with { Banned = true, BannedUntil = null, BanReason = "Abuse", SecurityVersion = 1 };

        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(banned, Ct));
        Assert.Equal(banned, await FindUserAsync(store, user.Id));

        var unbanned = banned with { Banned = false, BanReason = null, SecurityVersion = 2 };
        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(unbanned, Ct));
        Assert.Equal(unbanned, await FindUserAsync(store, user.Id));
    }

    [Fact]
    public async Task A_deleted_user_keeps_a_null_password_hash()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var deleted = user with { Status = UserStatus.Deleted, PasswordHash = null, SecurityVersion = 5 };

        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(deleted, Ct));

        var found = await FindUserAsync(store, user.Id);
        Assert.Equal(deleted, found);
        Assert.Null(found!.PasswordHash);
    }

    [Fact]
    public async Task Updating_a_user_that_does_not_exist_fails_instead_of_losing_the_change()
    {
        var store = await CreateStoreAsync();

        await using var write = await store.BeginWriteAsync(Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => write.Users.UpdateAsync(NewUser(), Ct));
    }

    [Fact]
    public async Task Search_matches_text_in_the_email_or_the_display_name_ignoring_case()
    {
        var store = await CreateStoreAsync();
        var ada = NewUser("ada@example.test", "Ada Lovelace", T0);
        var grace = NewUser("grace@example.test", "Grace Hopper", T0.AddMinutes(1));
        var charles = NewUser("charles@analytical.test", "Charles Babbage", T0.AddMinutes(2));
        await InsertAsync(store, ada, grace, charles);

        Assert.Equal([ada.Id], await SearchIdsAsync(store, "LOVE"));
        Assert.Equal([charles.Id], await SearchIdsAsync(store, "Analytical"));
        Assert.Equal([ada.Id, grace.Id], await SearchIdsAsync(store, "EXAMPLE.test"));
        Assert.Empty(await SearchIdsAsync(store, "turing"));
    }

    [Fact]
    public async Task Search_ignores_case_beyond_ascii()
    {
        var store = await CreateStoreAsync();
        var zoe = NewUser("zoe@example.test", "Zoë Ångström");
        await InsertAsync(store, zoe, NewUser("other@example.test", "Someone Else"));

        Assert.Equal([zoe.Id], await SearchIdsAsync(store, "ÅNGSTRÖM"));
        Assert.Equal([zoe.Id], await SearchIdsAsync(store, "zoË"));
    }

    [Fact]
    public async Task Search_treats_percent_underscore_and_backslash_in_the_text_as_plain_characters()
    {
        var store = await CreateStoreAsync();
        var percent = NewUser("percent@example.test", "100% Sure", T0);
        var hundred = NewUser("hundred@example.test", "100 Sure", T0.AddMinutes(1));
        var underscore = NewUser("under_score@example.test", "Under Score", T0.AddMinutes(2));
        var underx = NewUser("underxscore@example.test", "Underx Score", T0.AddMinutes(3));
        var backslash = NewUser("backslash@example.test", @"Back\slash", T0.AddMinutes(4));
        await InsertAsync(store, percent, hundred, underscore, underx, backslash);

        Assert.Equal([percent.Id], await SearchIdsAsync(store, "100%"));
        Assert.Equal([underscore.Id], await SearchIdsAsync(store, "r_s"));
        Assert.Equal([backslash.Id], await SearchIdsAsync(store, @"k\s"));
        Assert.Empty(await SearchIdsAsync(store, "%%"));
        Assert.Empty(await SearchIdsAsync(store, "__"));
    }

    [Fact]
    public async Task Search_filters_by_status_and_by_bans_in_force()
    {
        var store = await CreateStoreAsync();
        var active = NewUser(createdAt: T0);
        var deactivated = NewUser(createdAt: T0.AddMinutes(1)) with { Status = UserStatus.Deactivated };
        var deleted = NewUser(createdAt: T0.AddMinutes(2)) with { Status = UserStatus.Deleted, PasswordHash = null };
        var bannedForGood = NewUser(createdAt: T0.AddMinutes(3)) with { Banned = true, BanReason = "Abuse" };
        var bannedForADay = NewUser(createdAt: T0.AddMinutes(4)) with { Banned = true, BannedUntil = T0.AddDays(1) };
        var banOver = NewUser(createdAt: T0.AddMinutes(5)) with { Banned = true, BannedUntil = T0.AddMilliseconds(-1) };
        var banEndsNow = NewUser(createdAt: T0.AddMinutes(6)) with { Banned = true, BannedUntil = T0 };
        await InsertAsync(store, active, deactivated, deleted, bannedForGood, bannedForADay, banOver, banEndsNow);

        Assert.Equal(
            [active.Id, deactivated.Id, bannedForGood.Id, bannedForADay.Id, banOver.Id, banEndsNow.Id],
            await SearchIdsAsync(store, status: null));
        Assert.Equal(
            [active.Id, bannedForGood.Id, bannedForADay.Id, banOver.Id, banEndsNow.Id],
            await SearchIdsAsync(store, status: UserStatusFilter.Active));
        Assert.Equal([deactivated.Id], await SearchIdsAsync(store, status: UserStatusFilter.Deactivated));
        Assert.Equal([deleted.Id], await SearchIdsAsync(store, status: UserStatusFilter.Deleted));
        Assert.Equal([bannedForGood.Id, bannedForADay.Id], await SearchIdsAsync(store, status: UserStatusFilter.Banned));
    }

    [Fact]
    public async Task Search_pages_in_creation_order_and_counts_every_match()
    {
        var store = await CreateStoreAsync();
        var users = Enumerable.Range(0, 5).Select(i => NewUser(createdAt: T0.AddSeconds(i))).ToList();
        // Two more created in the same millisecond: the id breaks the tie.
        var twins = new[] { NewUser(createdAt: T0.AddSeconds(10)), NewUser(createdAt: T0.AddSeconds(10)) }
            .OrderBy(user => user.Id, StringComparer.Ordinal);
        users.AddRange(twins);
        // Inserted out of order, so that the order seen is the store's doing.
        await InsertAsync(store, [.. Enumerable.Reverse(users)]);

        var pages = new List<UserPage>();
        for (var page = 1; page <= 4; page++)
        {
            pages.Add(await ReadAsync(store, transaction =>
                transaction.Users.SearchAsync(new UserSearch(null, null, page, 3, T0), Ct)));
        }

        Assert.All(pages, page => Assert.Equal(7, page.Total));
        Assert.Equal(users.Select(u => u.Id), pages.SelectMany(page => page.Users).Select(u => u.Id));
        Assert.Equal([3, 3, 1, 0], pages.Select(page => page.Users.Count));
        Assert.Equal(users[0], pages[0].Users[0]);
    }

    [Fact]
    public async Task Search_total_counts_only_the_matches()
    {
        var store = await CreateStoreAsync();
        await InsertAsync(
            store,
            NewUser("a1@team.test", createdAt: T0),
            NewUser("a2@team.test", createdAt: T0.AddSeconds(1)),
            NewUser("a3@team.test", createdAt: T0.AddSeconds(2)),
            NewUser("b1@elsewhere.test", createdAt: T0.AddSeconds(3)));

        var page = await ReadAsync(store, transaction =>
            transaction.Users.SearchAsync(new UserSearch("@team.", null, 1, 2, T0), Ct));

        Assert.Equal(3, page.Total);
        Assert.Equal(["a1@team.test", "a2@team.test"], page.Users.Select(u => u.Email));
    }

    [Theory]
    [InlineData(UserSort.OldestFirst, "m z a")]
    [InlineData(UserSort.NewestFirst, "a z m")]
    [InlineData(UserSort.Name, "z a m")]
    [InlineData(UserSort.Email, "a m z")]
    public async Task Search_orders_by_the_chosen_sort(UserSort sort, string expectedLocalParts)
    {
        var store = await CreateStoreAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        // Every sort gives another order; names sort without regard to case ("Adam", "mia", "zoe").
        await InsertAsync(
            store,
            NewUser($"m-{tag}@x.test", "zoe", createdAt: T0),
            NewUser($"z-{tag}@x.test", "Adam", createdAt: T0.AddSeconds(1)),
            NewUser($"a-{tag}@x.test", "mia", createdAt: T0.AddSeconds(2)));

        var page = await ReadAsync(store, transaction =>
            transaction.Users.SearchAsync(new UserSearch(tag, null, 1, 10, T0, sort), Ct));

        Assert.Equal(expectedLocalParts.Split(' ').Select(p => $"{p}-{tag}@x.test"), page.Users.Select(u => u.Email));
    }

    private static async Task<string[]> SearchIdsAsync(ITesseraStore store, string? text = null, UserStatusFilter? status = null)
    {
        var page = await ReadAsync(store, transaction =>
            transaction.Users.SearchAsync(new UserSearch(text, status, 1, 100, T0), Ct));
        Assert.Equal(page.Users.Count, page.Total);
        return [.. page.Users.Select(user => user.Id)];
    }
}
