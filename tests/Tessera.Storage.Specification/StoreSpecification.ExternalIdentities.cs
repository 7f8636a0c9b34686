using Tessera.Core.ExternalLogin;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    private static ExternalIdentity NewLink(string userId, string provider = "google", string? subject = null, DateTimeOffset? linkedAt = null) => new()
    {
        Provider = provider,
        Subject = subject ?? $"sub-{Guid.CreateVersion7():N}",
        UserId = userId,
        Email = "ada@gmail.test",
        LinkedAt = linkedAt ?? T0,
    };

    [Fact]
    public async Task An_external_identity_is_found_by_provider_and_subject_as_it_was_written()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var link = NewLink(user.Id) with { LastUsedAt = T0.AddMinutes(5), ProtectedRefreshToken = "CfDJ8protected" };
        await WriteAsync(store, async transaction => Assert.True(await transaction.ExternalIdentities.InsertAsync(link, Ct)));

        Assert.Equal(link, await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync("google", link.Subject, Ct)));

        // The pair is the key, compared exactly: another provider, or the subject in another case, is someone else.
        Assert.Null(await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync("corp", link.Subject, Ct)));
        Assert.Null(await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync("google", link.Subject.ToUpperInvariant(), Ct)));
    }

    [Fact]
    public async Task A_subject_links_to_one_user_only_and_a_second_link_is_answered_with_false()
    {
        var store = await CreateStoreAsync();
        var ada = NewUser();
        var eve = NewUser();
        await InsertAsync(store, ada, eve);
        var link = NewLink(ada.Id);
        await WriteAsync(store, async transaction => Assert.True(await transaction.ExternalIdentities.InsertAsync(link, Ct)));

        await WriteAsync(store, async transaction =>
        {
            Assert.False(await transaction.ExternalIdentities.InsertAsync(link with { UserId = eve.Id }, Ct));

            // The transaction goes on after the refusal (an error would have aborted it on PostgreSQL).
            Assert.True(await transaction.ExternalIdentities.InsertAsync(NewLink(eve.Id, subject: link.Subject, provider: "corp"), Ct));
        });

        Assert.Equal(ada.Id, (await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync("google", link.Subject, Ct)))!.UserId);
    }

    [Fact]
    public async Task A_users_links_are_listed_oldest_first_and_only_theirs()
    {
        var store = await CreateStoreAsync();
        var ada = NewUser();
        var eve = NewUser();
        await InsertAsync(store, ada, eve);
        var later = NewLink(ada.Id, "corp", linkedAt: T0.AddDays(1));
        var first = NewLink(ada.Id, "google", linkedAt: T0);
        var eves = NewLink(eve.Id, "google");
        await WriteAsync(store, async transaction =>
        {
            foreach (var link in new[] { later, first, eves })
            {
                Assert.True(await transaction.ExternalIdentities.InsertAsync(link, Ct));
            }
        });

        var listed = await ReadAsync(store, transaction => transaction.ExternalIdentities.ListByUserAsync(ada.Id, Ct));

        Assert.Equal([first, later], listed);
        Assert.Empty(await ReadAsync(store, transaction => transaction.ExternalIdentities.ListByUserAsync("usr_nobody", Ct)));
    }

    [Fact]
    public async Task Updating_a_link_writes_its_last_use_and_its_refresh_token_and_clears_the_token()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var link = NewLink(user.Id);
        await WriteAsync(store, transaction => transaction.ExternalIdentities.InsertAsync(link, Ct));

        var used = link with { LastUsedAt = T0.AddHours(2), ProtectedRefreshToken = "CfDJ8first", Email = "ada@new.test" };
        await WriteAsync(store, transaction => transaction.ExternalIdentities.UpdateAsync(used, Ct));
        Assert.Equal(used, await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync(link.Provider, link.Subject, Ct)));

        var revoked = used with { ProtectedRefreshToken = null };
        await WriteAsync(store, transaction => transaction.ExternalIdentities.UpdateAsync(revoked, Ct));
        Assert.Equal(revoked, await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync(link.Provider, link.Subject, Ct)));

        await using var write = await store.BeginWriteAsync(Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => write.ExternalIdentities.UpdateAsync(NewLink(user.Id), Ct));
    }

    [Fact]
    public async Task Unlinking_removes_only_the_users_own_link()
    {
        var store = await CreateStoreAsync();
        var ada = NewUser();
        var eve = NewUser();
        await InsertAsync(store, ada, eve);
        var link = NewLink(ada.Id);
        await WriteAsync(store, transaction => transaction.ExternalIdentities.InsertAsync(link, Ct));

        // Someone else's id does not reach it.
        await WriteAsync(store, async transaction => Assert.False(await transaction.ExternalIdentities.DeleteAsync(eve.Id, link.Provider, link.Subject, Ct)));
        Assert.NotNull(await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync(link.Provider, link.Subject, Ct)));

        await WriteAsync(store, async transaction => Assert.True(await transaction.ExternalIdentities.DeleteAsync(ada.Id, link.Provider, link.Subject, Ct)));
        Assert.Null(await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync(link.Provider, link.Subject, Ct)));
        await WriteAsync(store, async transaction => Assert.False(await transaction.ExternalIdentities.DeleteAsync(ada.Id, link.Provider, link.Subject, Ct)));
    }

    [Fact]
    public async Task A_link_stays_when_its_user_is_deleted_so_the_account_is_found_and_not_made_again()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var link = NewLink(user.Id);
        await WriteAsync(store, transaction => transaction.ExternalIdentities.InsertAsync(link, Ct));

        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(
            user with { Status = UserStatus.Deleted, Email = User.DeletedEmail(user.Id), PasswordHash = null, SecurityVersion = 1 }, Ct));

        var found = await ReadAsync(store, transaction => transaction.ExternalIdentities.FindAsync(link.Provider, link.Subject, Ct));
        Assert.Equal(user.Id, found?.UserId);
    }

    [Fact]
    public async Task A_link_cannot_name_a_user_that_does_not_exist()
    {
        var store = await CreateStoreAsync();

        await using var write = await store.BeginWriteAsync(Ct);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => write.ExternalIdentities.InsertAsync(NewLink("usr_nobody"), Ct));
    }
}
