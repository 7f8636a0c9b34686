using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Tessera.Core.Notifications;
using Tessera.Core.Options;

namespace Tessera.Server.Hosting;

internal static class CoreExtensions
{
    /// <summary>
    /// The core services with their settings (sessions, passwords, rate limits, admins, the bootstrap admin), and the
    /// server's own (the data directory, trusted proxies), all under <c>Tessera</c> and checked at start-up.
    /// </summary>
    public static IHostApplicationBuilder AddTesseraCore(this IHostApplicationBuilder builder)
    {
        var tessera = builder.Configuration.GetSection(TesseraOptions.SectionName);
        builder.Services.AddTesseraCore(tessera);
        builder.Services.AddOptions<TesseraServerOptions>().Bind(tessera).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TesseraServerOptions>, TesseraServerOptionsValidator>());

        // Password reset messages wait in the data directory until a mail sender is configured.
        builder.Services.AddOptions<OutboxOptions>().Configure<IOptions<TesseraServerOptions>>((outbox, server) =>
            outbox.Directory = Path.Combine(Path.GetFullPath(server.Value.DataDirectory), "outbox"));
        return builder;
    }
}
