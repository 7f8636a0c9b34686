using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.AspNetCore.Authentication;
using Tessera.AspNetCore.Revocations;
using Tessera.AspNetCore.Verdicts;

namespace Tessera.AspNetCore;

/// <summary><c>AddTessera</c>: Tessera's sessions as an authentication scheme of a relying app.</summary>
public static class TesseraAuthenticationExtensions
{
    /// <summary>Adds the scheme <see cref="TesseraDefaults.AuthenticationScheme"/>.</summary>
    public static AuthenticationBuilder AddTessera(this AuthenticationBuilder builder, Action<TesseraAuthenticationOptions> configure) =>
        builder.AddTessera(TesseraDefaults.AuthenticationScheme, configure);

    /// <summary>
    /// Adds a scheme that accepts Tessera's session tokens, the verdict cache and the revocation listener (a hosted
    /// service, started with the app), and <see cref="TesseraSignIn"/>. The options are checked when the app starts.
    /// </summary>
    public static AuthenticationBuilder AddTessera(this AuthenticationBuilder builder, string authenticationScheme, Action<TesseraAuthenticationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticationScheme);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TesseraAuthorities>();
        services.TryAddSingleton(provider => new TesseraSignIn(
            provider.GetRequiredService<TesseraAuthorities>(), provider.GetRequiredService<IHttpClientFactory>(), provider.GetRequiredService<ILogger<TesseraSignIn>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TesseraAuthenticationOptions>, TesseraOptionsValidator>());
        services.AddOptions<TesseraAuthenticationOptions>(authenticationScheme).ValidateOnStart();
        services.AddHttpClient(TesseraDefaults.HttpClientName);
        // The stream stays open for as long as the app runs: no overall timeout (stalls are found by heartbeats).
        services.AddHttpClient(TesseraDefaults.StreamHttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<IHostedService>(provider => new RevocationListener(
            provider.GetRequiredService<TesseraAuthorities>(),
            authenticationScheme,
            provider.GetRequiredService<IHttpClientFactory>(),
            provider.GetRequiredService<ILogger<RevocationListener>>()));
        return builder.AddScheme<TesseraAuthenticationOptions, TesseraAuthenticationHandler>(authenticationScheme, displayName: "Tessera", configure);
    }

    /// <summary>
    /// Adds a scheme that accepts Tessera's session tokens as <c>AddTessera</c> does, with verdicts from
    /// <typeparamref name="TVerdictSource"/> (a singleton) instead of Tessera over HTTP: no introspection, no verdict cache,
    /// no revocation stream, no <see cref="TesseraSignIn"/>. Tessera's own server reads its sessions this way.
    /// </summary>
    public static AuthenticationBuilder AddTessera<TVerdictSource>(
        this AuthenticationBuilder builder, string authenticationScheme, Action<TesseraAuthenticationOptions> configure)
        where TVerdictSource : class, ITesseraVerdictSource
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticationScheme);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TesseraAuthorities>();
        services.TryAddSingleton<TVerdictSource>();
        services.AddHttpClient(); // for the handler's TesseraAuthorities, which such a scheme never asks
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TesseraAuthenticationOptions>, TesseraOptionsValidator>());
        services.AddOptions<TesseraAuthenticationOptions>(authenticationScheme)
            .PostConfigure<TVerdictSource>((options, source) => options.VerdictSource = source)
            .ValidateOnStart();
        return builder.AddScheme<TesseraAuthenticationOptions, TesseraAuthenticationHandler>(authenticationScheme, displayName: "Tessera", configure);
    }
}
