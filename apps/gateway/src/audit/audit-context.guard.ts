import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';

/** Where AuditContextGuard leaves what the audit entry of a request needs from the routing. */
export const AUDIT_CONTEXT = Symbol('gateway:audit-context');

export interface AuditContext {
  /** `<controller>.<handler>`, e.g. `orders.place`, `risk.halt`. */
  readonly action: string;
  /** The route pattern, e.g. `/v1/accounts/:accountId/orders/:orderId`. */
  readonly route: string | null;
  readonly params: Readonly<Record<string, string>>;
  /** A GET that changes state (the OAuth callback a browser is redirected to): audited as a change. */
  readonly change?: boolean;
}

const AUDITED_CHANGE = 'gateway:audited-change';

/** Marks a GET handler that changes state, so that its requests are audited like any change. */
export const AuditedChange = () => SetMetadata(AUDITED_CHANGE, true);

export type AuditableRequest = Request & { [AUDIT_CONTEXT]?: AuditContext };

/** `OrdersController` + `place` → `orders.place`. */
export function actionName(controller: string, handler: string): string {
  const base = controller.replace(/Controller$/, '');
  return `${base.charAt(0).toLowerCase()}${base.slice(1)}.${handler}`;
}

/**
 * A global guard registered before AuthGuard, so it runs even when authentication then fails: it notes
 * which handler the request reached and its route pattern and path parameters, for the audit entry
 * written when the response finishes (AuditRecorder). It never refuses anything.
 */
@Injectable()
export class AuditContextGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') {
      return true;
    }
    const req = context.switchToHttp().getRequest<AuditableRequest>();
    const route = (req.route as { path?: unknown } | undefined)?.path;
    req[AUDIT_CONTEXT] = {
      change: Reflect.getMetadata(AUDITED_CHANGE, context.getHandler()) === true,
      action: actionName(context.getClass().name, context.getHandler().name),
      route: typeof route === 'string' ? route : null,
      params: Object.fromEntries(
        Object.entries((req.params ?? {}) as Record<string, unknown>).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        ),
      ),
    };
    return true;
  }
}
