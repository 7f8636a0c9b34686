using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Tessera.Core;
using Tessera.Core.Access;
using Tessera.Core.Accounts;
using Tessera.Core.Administration;
using Tessera.Core.Caching;
using Tessera.Core.Clients;
using Tessera.Core.Devices;
using Tessera.Core.Devices.UapCore;
using Tessera.Core.Diagnostics;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Invalidations;
using Tessera.Core.Notifications;
using Tessera.Core.Options;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Throttling;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraCoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the core services with the settings in Tessera's configuration section (<c>Tessera</c>: sessions,
    /// passwords, rate limits, admins and the bootstrap admin, <see cref="TesseraOptions"/>), checked at start-up.
    /// </summary>
    /// <inheritdoc cref="AddTesseraCore(IServiceCollection)" path="/remarks"/>
    public static IServiceCollection AddTesseraCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TesseraOptions>().Bind(configuration);
        return services.AddTesseraCore();
    }

    /// <summary>Registers the core services, with <see cref="TesseraOptions"/> as the caller configures them.</summary>
    /// <remarks>
    /// Single-node defaults (in-process bus, in-memory throttling, outbox mail). A store must be registered too; cluster
    /// parts replace the defaults by registering first. Safe to call more than once.
    /// </remarks>
    public static IServiceCollection AddTesseraCore(this IServiceCollection services)
    {
        services.AddOptions<TesseraOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TesseraOptions>, TesseraOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<TesseraMetrics>();
        services.TryAddSingleton(sp => new SessionCache(
            sp.GetRequiredService<IOptions<TesseraOptions>>().Value.Sessions.CacheCapacity, sp.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IInvalidationHandler, SessionCache>(sp => sp.GetRequiredService<SessionCache>()));
        services.TryAddSingleton<ServiceClientCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IInvalidationHandler, ServiceClientCache>(
            sp => sp.GetRequiredService<ServiceClientCache>()));
        services.TryAddSingleton<IRelyingApps, NoRelyingApps>();
        services.TryAddSingleton<IInvalidationBus, InProcessInvalidationBus>();
        services.TryAddSingleton<StoreSessionSource>();
        services.TryAddSingleton<ISessionSource>(sp => sp.GetRequiredService<StoreSessionSource>());
        services.TryAddSingleton<ActivityTracker>();
        services.TryAddSingleton<SessionValidator>();
        services.AddHostedService<ActivityFlusher>();
        services.AddHostedService<SessionRetention>();

        services.TryAddSingleton<IPasswordHasher, IdentityPasswordHasher>();
        services.TryAddSingleton<PasswordPolicy>();
        services.TryAddSingleton<IThrottle, InMemoryThrottle>();
        services.TryAddSingleton<IUserAgentParser>(_ => UapCoreUserAgentParser.Default);
        services.TryAddSingleton<DeviceResolver>();
        services.TryAddSingleton<IPasswordResetSender, OutboxPasswordResetSender>();
        services.TryAddSingleton<PendingPasswordResets>();
        services.AddHostedService<PasswordResetDispatcher>();

        services.TryAddSingleton<AccessChanges>();
        services.TryAddSingleton<Registration>();
        services.TryAddSingleton<SignIn>();
        services.TryAddSingleton<ExternalSignIn>();
        services.TryAddSingleton<ExternalIdentities>();
        services.TryAddSingleton<IProviderTokenRevoker, NoProviderTokenRevoker>();
        services.TryAddSingleton<SignOut>();
        services.TryAddSingleton<PasswordChange>();
        services.TryAddSingleton<PasswordReset>();
        services.TryAddSingleton<Profile>();
        services.TryAddSingleton<SessionService>();
        services.TryAddSingleton<UserAdministration>();
        services.TryAddSingleton<AdminBootstrap>();
        services.TryAddSingleton<FirstAdminSetup>();
        services.TryAddSingleton<ServiceClients>();
        return services;
    }
}
