import { getContext } from '$lib/server/context';
import { handleIngest } from '$lib/server/ingest-endpoint';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = ({ request }) => handleIngest(getContext(), request);
