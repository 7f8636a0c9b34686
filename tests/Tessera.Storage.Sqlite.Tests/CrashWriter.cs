using System.Globalization;
using Tessera.Core.Audit;
using Tessera.Core.Users;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>
/// The child process of the crash test: writes users, each with its audit event in the same transaction, as fast
/// as it can and forever, printing the number of each commit once it has returned. The test kills it.
/// </summary>
internal static class CrashWriter
{
    public const string Mode = "--tessera-crash-writer";

    public static int Run(string databasePath)
    {
        try
        {
            RunAsync(databasePath).GetAwaiter().GetResult();
            return 0;
        }
        catch (Exception exception)
        {
            Console.Error.WriteLine(exception);
            return 1;
        }
    }

    private static async Task RunAsync(string databasePath)
    {
        using var store = new SqliteTesseraStore($"Data Source={databasePath}");
        await store.MigrateAsync(CancellationToken.None);
        var clock = TimeProvider.System;
        for (var n = 1; ; n++)
        {
            var now = clock.GetUtcNow();
            var user = new User
            {
                Id = $"usr_{Guid.CreateVersion7(now):N}",
                Email = $"writer{n}@example.test",
                DisplayName = $"Writer {n}",
                PasswordHash = "hash",
                CreatedAt = now,
                UpdatedAt = now,
            };
            await using (var transaction = await store.BeginWriteAsync(CancellationToken.None))
            {
                if (!await transaction.Users.InsertAsync(user, CancellationToken.None))
                {
                    throw new InvalidOperationException($"{user.Email} is taken.");
                }

                await transaction.Audit.AppendAsync(
                    new AuditEvent
                    {
                        Id = $"evt_{Guid.CreateVersion7(now):N}",
                        At = now,
                        Action = AuditActions.UserRegistered,
                        Actor = new Actor(ActorKind.User, user.Id),
                        TargetUserId = user.Id,
                    },
                    CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
            }

            Console.Out.WriteLine(n.ToString(CultureInfo.InvariantCulture));
        }
    }
}
