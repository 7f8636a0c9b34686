using Microsoft.Extensions.Options;
using Tessera.Core.Accounts;
using Tessera.Core.Storage;

namespace Tessera.Server.Hosting;

internal static class StartupTasks
{
    /// <summary>
    /// Checks the settings of every part at once (the core's, the server's, the store's, Redis's), before the pipeline
    /// or the start-up tasks read any of them: a node with several bad settings says all of them in one failure, not
    /// only those of whichever part happened to be read first. The host would check them again as it starts.
    /// </summary>
    public static WebApplication ValidateTesseraSettings(this WebApplication app)
    {
        app.Services.GetService<IStartupValidator>()?.Validate();
        return app;
    }

    /// <summary>
    /// Creates or upgrades the schema and the bootstrap admin before the first request is served; with no admin at all, says
    /// in the log where to create the first one. (A key ring shared in PostgreSQL is resolved as the host starts, by the
    /// key ring's own start-up step.)
    /// </summary>
    public static async Task InitializeTesseraAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<ITesseraStore>().MigrateAsync(app.Lifetime.ApplicationStopping);
        await app.Services.GetRequiredService<AdminBootstrap>().RunAsync(app.Lifetime.ApplicationStopping);
        await app.Services.GetRequiredService<FirstAdminSetup>().AnnounceAsync(app.Lifetime.ApplicationStopping);
    }
}
