using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>A new session. <see cref="Token"/> is the only copy of the secret; Tessera keeps its hash.</summary>
public sealed record LoginResult(string Token, Session Session, User User);
