namespace Tessera.Server.Authentication;

/// <summary>Marks an endpoint as needing a session that holds (and, with <see cref="Admin"/>, an admin behind it).</summary>
internal sealed record RequireSessionMetadata(bool Admin);
