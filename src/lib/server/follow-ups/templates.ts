import type { Channel } from '../../contracts/events';
import type { DraftContext } from './draft';

/**
 * Follow-up templates per channel × language (issue 7, item 5): the draft when no model is
 * configured, and the fallback when a model's draft is unusable. Plain functions over the
 * context, so every sentence is complete whatever is missing (no name, no intent, no sender)
 * and nothing is left as a placeholder. The sentences work written or spoken, because the phone
 * channel reads the same ask out as a call script. A template says only what the context holds: no prices,
 * no dates beyond the booking, no promises.
 */

export const templateLanguages = ['en', 'es', 'pt', 'fr', 'de'] as const;
export type TemplateLanguage = (typeof templateLanguages)[number];

/** What the message asks of the customer, from the stage and who spoke last. */
export type Ask = 'book' | 'confirm' | 'decide' | 'check_in' | 'thank';

export interface TemplateDraft {
  language: TemplateLanguage;
  text: string;
  /** Email only. */
  subject?: string;
  /** Caveats the rendering itself adds (language fallback, time left out). */
  notes: string[];
}

/** Facts a sentence may use; null when unknown, so each phrase has a form without it. */
interface Facts {
  name: string | null;
  intent: string | null;
  /** The appointment, formatted in the lead's language and the organisation's time zone. */
  when: string | null;
}

interface Phrases {
  hello(name: string | null): string;
  /** Spanish letters open with a colon, the others with a comma. */
  emailHello(name: string | null): string;
  body: Record<Ask, (f: Facts) => string>;
  subject: Record<Ask, (f: Facts) => string>;
  emailClosing: string;
  /** The caller introducing themselves; `who` is "sender" + "org" joined the language's way. */
  callIntro(name: string | null, sender: string, org: string): string;
  callClose: string;
}

const opt = (value: string | null, render: (v: string) => string) => (value ? render(value) : '');

const phrases: Record<TemplateLanguage, Phrases> = {
  en: {
    hello: (n) => (n ? `Hi ${n},` : 'Hi,'),
    emailHello: (n) => (n ? `Dear ${n},` : 'Hello,'),
    body: {
      book: (f) => `${f.intent ? `Thanks for your interest in ${f.intent}.` : 'Thanks for getting in touch.'} Would you like to book a time to come in? Which day would suit you?`,
      confirm: (f) => `I'd like to confirm your appointment${opt(f.intent, (i) => ` for ${i}`)}${opt(f.when, (w) => ` on ${w}`)}. Can you make it?`,
      decide: (f) => `Thank you for coming in${opt(f.intent, (i) => ` about ${i}`)}. Have you had a chance to think it over? I'm happy to answer any questions before you decide.`,
      check_in: (f) => `I wanted to check in${opt(f.intent, (i) => ` about ${i}`)}. Is this still of interest to you? No rush at all.`,
      thank: (f) => `Thank you for choosing us${opt(f.intent, (i) => ` for ${i}`)}. If there is anything else we can do for you, just let us know.`
    },
    subject: {
      book: (f) => `Your enquiry${opt(f.intent, (i) => ` about ${i}`)}`,
      confirm: () => 'Your appointment',
      decide: () => 'Following up on your visit',
      check_in: (f) => `Following up${opt(f.intent, (i) => `: ${i}`)}`,
      thank: () => 'Thank you'
    },
    emailClosing: 'Kind regards,',
    callIntro: (n, s, o) => `${n ? `Hi ${n}` : 'Hello'}, this is ${s && o ? `${s} from ${o}` : s || o || 'the team'}.`,
    callClose: 'If now is not a good time, when would suit you for a call back?'
  },
  es: {
    hello: (n) => (n ? `Hola ${n},` : 'Hola,'),
    emailHello: (n) => (n ? `Hola ${n}:` : 'Hola:'),
    body: {
      book: (f) => `${f.intent ? `Gracias por tu interés en ${f.intent}.` : 'Gracias por contactarnos.'} ¿Quieres reservar una cita? ¿Qué día te viene bien?`,
      confirm: (f) => `Quería confirmar tu cita${opt(f.intent, (i) => ` de ${i}`)}${opt(f.when, (w) => ` el ${w}`)}. ¿Puedes venir?`,
      decide: (f) => `Gracias por visitarnos${opt(f.intent, (i) => ` por ${i}`)}. ¿Has podido pensarlo? Con gusto resuelvo cualquier duda antes de que decidas.`,
      check_in: (f) => `Quería saber de ti${opt(f.intent, (i) => ` sobre ${i}`)}. ¿Sigue siendo de tu interés? Sin ninguna prisa.`,
      thank: (f) => `Gracias por confiar en nosotros${opt(f.intent, (i) => ` para ${i}`)}. Si necesitas algo más, aquí estamos.`
    },
    subject: {
      book: (f) => `Tu consulta${opt(f.intent, (i) => ` sobre ${i}`)}`,
      confirm: () => 'Tu cita',
      decide: () => 'Sobre tu visita',
      check_in: (f) => `Seguimiento${opt(f.intent, (i) => `: ${i}`)}`,
      thank: () => 'Gracias'
    },
    emailClosing: 'Un saludo,',
    callIntro: (n, s, o) => `${n ? `Hola ${n}` : 'Hola'}, soy ${s && o ? `${s}, de ${o}` : s || o || 'del equipo'}.`,
    callClose: 'Si ahora no es buen momento, ¿cuándo te viene bien que te llame?'
  },
  pt: {
    hello: (n) => (n ? `Olá ${n},` : 'Olá,'),
    emailHello: (n) => (n ? `Olá ${n},` : 'Olá,'),
    body: {
      book: (f) => `${f.intent ? `Obrigado pelo seu interesse em ${f.intent}.` : 'Obrigado pelo seu contato.'} Gostaria de agendar um horário? Qual dia seria melhor para você?`,
      confirm: (f) => `Gostaria de confirmar o seu agendamento${opt(f.intent, (i) => ` de ${i}`)}${opt(f.when, (w) => ` em ${w}`)}. Você consegue vir?`,
      decide: (f) => `Obrigado pela sua visita${opt(f.intent, (i) => ` sobre ${i}`)}. Já teve a oportunidade de pensar? Fico à disposição para tirar qualquer dúvida antes da sua decisão.`,
      check_in: (f) => `Queria saber se ainda tem interesse${opt(f.intent, (i) => ` em ${i}`)}. Sem pressa nenhuma.`,
      thank: (f) => `Obrigado por nos escolher${opt(f.intent, (i) => ` para ${i}`)}. Se precisar de mais alguma coisa, estamos à disposição.`
    },
    subject: {
      book: (f) => `Sua solicitação${opt(f.intent, (i) => ` sobre ${i}`)}`,
      confirm: () => 'Seu agendamento',
      decide: () => 'Sobre a sua visita',
      check_in: (f) => `Acompanhamento${opt(f.intent, (i) => `: ${i}`)}`,
      thank: () => 'Obrigado'
    },
    emailClosing: 'Atenciosamente,',
    // "da equipe" avoids guessing whether the organisation's name takes "da" or "do".
    callIntro: (n, s, o) => `${n ? `Olá ${n}` : 'Olá'}, aqui é ${s && o ? `${s}, da equipe ${o}` : s || o || 'a equipe'}.`,
    callClose: 'Se agora não for um bom momento, quando posso ligar de volta?'
  },
  fr: {
    hello: (n) => (n ? `Bonjour ${n},` : 'Bonjour,'),
    emailHello: (n) => (n ? `Bonjour ${n},` : 'Bonjour,'),
    body: {
      book: (f) => `${f.intent ? `Merci de votre intérêt pour ${f.intent}.` : 'Merci de nous avoir contactés.'} Souhaitez-vous prendre rendez-vous ? Quel jour vous conviendrait ?`,
      confirm: (f) => `Je souhaite confirmer votre rendez-vous${opt(f.intent, (i) => ` pour ${i}`)}${opt(f.when, (w) => ` le ${w}`)}. Pourrez-vous venir ?`,
      decide: (f) => `Merci de votre visite${opt(f.intent, (i) => ` concernant ${i}`)}. Avez-vous pu y réfléchir ? Je reste à votre disposition pour répondre à vos questions avant votre décision.`,
      check_in: (f) => `Je me permets de revenir vers vous${opt(f.intent, (i) => ` au sujet de ${i}`)}. Est-ce toujours d'actualité pour vous ? Rien ne presse.`,
      thank: (f) => `Merci de votre confiance${opt(f.intent, (i) => ` pour ${i}`)}. Si nous pouvons faire autre chose pour vous, n'hésitez pas à nous le dire.`
    },
    subject: {
      book: (f) => `Votre demande${opt(f.intent, (i) => ` concernant ${i}`)}`,
      confirm: () => 'Votre rendez-vous',
      decide: () => 'Suite à votre visite',
      check_in: (f) => `Suivi${opt(f.intent, (i) => ` : ${i}`)}`,
      thank: () => 'Merci'
    },
    emailClosing: 'Cordialement,',
    // "de l'équipe" avoids eliding "de" before a name that starts with a vowel.
    callIntro: (n, s, o) => `${n ? `Bonjour ${n}` : 'Bonjour'}, ici ${s && o ? `${s}, de l'équipe ${o}` : s || o || "l'équipe"}.`,
    callClose: "Si ce n'est pas le bon moment, quand puis-je vous rappeler ?"
  },
  de: {
    hello: (n) => (n ? `Hallo ${n},` : 'Guten Tag,'),
    emailHello: (n) => (n ? `Hallo ${n},` : 'Guten Tag,'),
    body: {
      book: (f) => `${f.intent ? `Vielen Dank für Ihr Interesse an ${f.intent}.` : 'Vielen Dank für Ihre Anfrage.'} Möchten Sie einen Termin vereinbaren? Welcher Tag passt Ihnen?`,
      confirm: (f) => `Ich möchte Ihren Termin${opt(f.intent, (i) => ` für ${i}`)}${opt(f.when, (w) => ` am ${w}`)} bestätigen. Können Sie wie geplant kommen?`,
      decide: (f) => `Vielen Dank für Ihren Besuch${opt(f.intent, (i) => ` zum Thema ${i}`)}. Konnten Sie schon darüber nachdenken? Bei Fragen vor Ihrer Entscheidung helfe ich gern.`,
      check_in: (f) => `Ich wollte mich kurz${opt(f.intent, (i) => ` wegen ${i}`)} bei Ihnen melden. Ist das Thema für Sie noch aktuell? Ganz ohne Eile.`,
      thank: (f) => `Vielen Dank für Ihr Vertrauen${opt(f.intent, (i) => ` bei ${i}`)}. Wenn wir noch etwas für Sie tun können, sagen Sie uns gern Bescheid.`
    },
    subject: {
      book: (f) => `Ihre Anfrage${opt(f.intent, (i) => ` zu ${i}`)}`,
      confirm: () => 'Ihr Termin',
      decide: () => 'Ihr Besuch bei uns',
      check_in: (f) => `Nachfrage${opt(f.intent, (i) => `: ${i}`)}`,
      thank: () => 'Vielen Dank'
    },
    emailClosing: 'Viele Grüße,',
    callIntro: (n, s, o) => `${n ? `Hallo ${n}` : 'Guten Tag'}, hier ist ${s && o ? `${s} von ${o}` : s || o || 'das Team'}.`,
    callClose: 'Falls es gerade nicht passt: Wann darf ich Sie zurückrufen?'
  }
};

const chatChannels: ReadonlySet<Channel> = new Set(['whatsapp', 'sms', 'messenger', 'webchat']);

/** "pt-BR" → "pt"; null for an empty or malformed tag. */
export function primaryLanguage(tag: string): string | null {
  const primary = (tag.trim().split(/[-_]/)[0] ?? '').toLowerCase();
  return /^[a-z]{2,3}$/.test(primary) ? primary : null;
}

export function isTemplateLanguage(language: string | null): language is TemplateLanguage {
  return (templateLanguages as readonly (string | null)[]).includes(language);
}

/**
 * The stage decides the ask; before a booking, a lead who has not answered our last message gets
 * a gentle check-in rather than another push to book.
 */
export function askFor(context: Pick<DraftContext, 'stage' | 'lastMessages'>): Ask {
  switch (context.stage) {
    case 'booked':
      return 'confirm';
    case 'attended':
      return 'decide';
    case 'won':
      return 'thank';
    case 'lost':
      return 'check_in';
    case 'enquired':
    case 'qualified':
      return context.lastMessages.at(-1)?.direction === 'outbound' ? 'check_in' : 'book';
  }
}

/** Text from the ledger, made safe to put in a sentence: no control characters, one line, bounded. */
export function cleanText(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, max).trim();
}

/** The first word of the contact's name, if it looks like a name (agents sometimes store a phone or email there). */
export function firstNameOf(contactName: string): string | null {
  const first = cleanText(contactName, 200).split(' ')[0] ?? '';
  return /^\p{L}[\p{L}\p{M}'’.-]{0,39}$/u.test(first) ? first : null;
}

/** Intents are sometimes codes ("dental_implant"); a sentence wants words. */
export function intentWords(intent: string): string | null {
  return cleanText(intent.replace(/_/g, ' '), 60) || null;
}

/** The appointment in the lead's language, only when the organisation's time zone is known (else a wrong hour could be sent). */
function formatWhen(context: DraftContext, language: TemplateLanguage): string | null {
  if (context.bookingAt === undefined || !context.timeZone) return null;
  try {
    const format = new Intl.DateTimeFormat(language, { weekday: 'long', day: 'numeric', month: 'long', hour: 'numeric', minute: '2-digit', timeZone: context.timeZone });
    return format.format(context.bookingAt);
  } catch {
    return null; // an unknown time zone name: leave the time out rather than guess one
  }
}

/** Render the template for the context's channel and language (English when it has none). */
export function renderTemplate(context: DraftContext): TemplateDraft {
  const notes: string[] = [];
  const wanted = primaryLanguage(context.language);
  const language: TemplateLanguage = isTemplateLanguage(wanted) ? wanted : 'en';
  if (wanted === null) notes.push('Language unknown, drafted in English');
  else if (wanted !== language) notes.push(`No template in "${wanted}", drafted in English`);

  const ask = askFor(context);
  const when = formatWhen(context, language);
  if (ask === 'confirm' && context.bookingAt !== undefined && when === null) notes.push('No time zone known, so the appointment time was left out');

  const p = phrases[language];
  const facts: Facts = { name: firstNameOf(context.contactName), intent: intentWords(context.intent), when };
  const sender = cleanText(context.senderName, 60);
  const org = cleanText(context.orgName, 80);
  const body = p.body[ask](facts);

  if (context.channel === 'email') {
    const signature = [p.emailClosing, sender, org].filter(Boolean).join('\n');
    return { language, subject: p.subject[ask](facts), text: `${p.emailHello(facts.name)}\n\n${body}\n\n${signature}`, notes };
  }
  if (context.channel === 'phone') {
    const lines = [p.callIntro(facts.name, sender, org), body, p.callClose];
    return { language, text: lines.map((l) => `• ${l}`).join('\n'), notes };
  }
  if (!chatChannels.has(context.channel)) throw new Error(`no template for channel ${context.channel}`);
  const signature = [sender, org].filter(Boolean).join(', ');
  return { language, text: `${p.hello(facts.name)}\n${body}${signature ? `\n— ${signature}` : ''}`, notes };
}
