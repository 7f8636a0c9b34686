using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Core.Caching;

/// <summary>A session with its user, read together.</summary>
public sealed record SessionWithUser(Session Session, User User);
